import { KeyStore, ROLES, type Role } from '../../auth/index.js';
import { allMigrations } from '../../migrations.js';
import { migrate, openDatabase, waitForDatabase } from '../../platform/clickhouse/index.js';
import { loadConfig } from '../../platform/config/index.js';
import { ModelwatchError } from '../../platform/errors.js';
import { parseOptions, type Command } from './command.js';

const usage = `modelwatch keys create --role ${ROLES.join('|')} [--name NAME]`;

export const keysCommand: Command = {
  summary: 'create an API key: keys create --role viewer|auditor|admin',
  async run(args) {
    const { values, positionals } = parseOptions(args, { role: { type: 'string' }, name: { type: 'string' } }, usage);
    if (positionals[0] !== 'create') throw new ModelwatchError('BAD_REQUEST', `usage: ${usage}`);
    const role = values.role;
    if (!role || !(ROLES as readonly string[]).includes(role)) {
      throw new ModelwatchError('BAD_REQUEST', `--role must be one of ${ROLES.join(', ')}; usage: ${usage}`);
    }
    const config = loadConfig();
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db);
      await migrate(db, allMigrations);
      const key = await new KeyStore(db, undefined).create(role as Role, values.name ?? `${role}-${new Date().toISOString()}`);
      process.stdout.write(`${key}\n`);
      process.stderr.write(`created a ${role} key; it is shown once and stored only as a hash\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
