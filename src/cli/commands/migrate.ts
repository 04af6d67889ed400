import { allMigrations } from '../../migrations.js';
import { migrate, openDatabase, waitForDatabase } from '../../platform/clickhouse/index.js';
import { loadConfig } from '../../platform/config/index.js';
import { parseOptions, type Command } from './command.js';

export const migrateCommand: Command = {
  summary: 'apply pending ClickHouse migrations (also run at start)',
  async run(args) {
    parseOptions(args, {}, 'modelwatch migrate');
    const config = loadConfig();
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db);
      const report = await migrate(db, allMigrations);
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
