import { migrate, openDatabase, waitForDatabase } from '../../platform/clickhouse/index.js';
import { loadConfig } from '../../platform/config/index.js';
import { parseOptions, type Command } from '../../platform/cli/index.js';

export const migrateCommand: Command = {
  async run(args, { migrations }) {
    parseOptions(args, {}, 'modelwatch migrate', { allowPositionals: false });
    const config = loadConfig();
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db);
      const report = await migrate(db, migrations);
      const line =
        report.applied.length === 0
          ? `nothing to apply: ${db.location}, database ${db.name} is at version ${report.current}`
          : `applied ${report.applied.map((m) => `${m.version} (${m.name})`).join(', ')}; now at version ${report.current}`;
      process.stdout.write(`${line}\n`);
      return 0;
    } finally {
      await db.close();
    }
  },
};
