import { describe, expect, it } from 'vitest';
import { allMigrations } from '../support/migrations.js';
import { migrate, openDatabase, waitForDatabase } from '../../src/platform/clickhouse/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { uniqueName } from '../support/harness.js';

const url = process.env['MODELWATCH_CLICKHOUSE_URL'];
const reason = url
  ? ''
  : ' (skipped: set MODELWATCH_CLICKHOUSE_URL to a ClickHouse server to run it; no Docker engine here)';

describe.skipIf(!url)(`migrations on a ClickHouse server${reason}`, () => {
  it('apply once, then are a no-op, and give the same tables as the embedded engine', async () => {
    const config = loadConfig({
      MODELWATCH_CLICKHOUSE_URL: url ?? '',
      MODELWATCH_CLICKHOUSE_DATABASE: uniqueName('mw_server'),
    });
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db, 10_000);
      const first = await migrate(db, allMigrations);
      expect(first.applied.map((m) => m.version)).toEqual(allMigrations.map((m) => m.version));
      const second = await migrate(db, allMigrations);
      expect(second.applied).toEqual([]);
      const result = await db.client.query({
        query: 'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name',
        format: 'JSONEachRow',
      });
      const names = (await result.json<{ name: string }>()).map((r) => r.name);
      expect(names).toEqual(
        expect.arrayContaining([
          'predictions',
          'predictions_input',
          'labels',
          'access_log',
          'model_versions',
          'api_keys',
        ]),
      );
    } finally {
      await db.client.command({ query: `DROP DATABASE IF EXISTS ${db.name}` });
      await db.close();
    }
  });

  it('rejects an insert that fails after the first progress header would have gone out', async () => {
    const config = loadConfig({
      MODELWATCH_CLICKHOUSE_URL: url ?? '',
      MODELWATCH_CLICKHOUSE_DATABASE: uniqueName('mw_late_failure'),
    });
    const db = await openDatabase(config.clickhouse);
    try {
      await waitForDatabase(db, 10_000);
      await db.client.command({ query: 'CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x' });
      await db.client.command({ query: 'CREATE TABLE sink (x UInt32) ENGINE = MergeTree ORDER BY x' });
      // 1.5 s of sleeping (below the 3 s a block may sleep), then the failure.
      await db.client.command({
        query: `CREATE MATERIALIZED VIEW late TO sink AS
                SELECT throwIf(x = 4, 'late failure') + x AS x FROM t WHERE sleepEachRow(0.3) = 0`,
      });
      const rows = Buffer.from([0, 1, 2, 3, 4].map((x) => JSON.stringify({ x })).join('\n'));
      await expect(
        db.insertJsonEachRow('t', rows, {
          settings: { http_headers_progress_interval_ms: '100', max_block_size: '1' },
        }),
      ).rejects.toThrow('late failure');
    } finally {
      await db.client.command({ query: `DROP DATABASE IF EXISTS ${db.name}` });
      await db.close();
    }
  });
});
