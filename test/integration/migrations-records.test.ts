import { describe, expect, it } from 'vitest';
import { migrate, type Database, type Migration } from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';

/**
 * migrate() records migrations that only create together, but never lets one stay unrecorded
 * while another kind runs: after a failure, what a rerun repeats is only creations.
 */

let db: Database;
// No migrations yet: each test migrates itself.
useMigratedEngine('migrations_records', [], (opened) => (db = opened));

const creates = (version: number, table: string): Migration => ({
  version,
  name: `create ${table}`,
  statements: ({ engine }) => [
    `CREATE TABLE IF NOT EXISTS ${table} (id UInt32) ENGINE = ${engine('MergeTree')} ORDER BY id`,
  ],
});

const alters = (version: number, statement: string): Migration => ({
  version,
  name: `alter ${version}`,
  statements: () => [statement],
});

async function recorded(): Promise<number[]> {
  const result = await db.client.query({
    query: 'SELECT version FROM schema_migrations FINAL ORDER BY version',
    format: 'JSONEachRow',
  });
  return (await result.json<{ version: number }>()).map((row) => Number(row.version));
}

describe('migrate() records', () => {
  it('every creation before a failing migration of another kind, and nothing of the failed one', async () => {
    const failing = alters(4, 'ALTER TABLE r1 DROP COLUMN no_such_column');
    await expect(
      migrate(db, [creates(1, 'r1'), creates(2, 'r2'), creates(3, 'r3'), failing]),
    ).rejects.toThrow(/no_such_column/);
    // With the three creations still waiting for one record, the failure would have left none.
    expect(await recorded()).toEqual([1, 2, 3]);

    const fixed = alters(4, 'ALTER TABLE r1 ADD COLUMN IF NOT EXISTS note String');
    const report = await migrate(db, [
      creates(1, 'r1'),
      creates(2, 'r2'),
      creates(3, 'r3'),
      fixed,
      creates(5, 'r5'),
    ]);
    expect(report.applied.map((m) => m.version)).toEqual([4, 5]);
    expect(report.current).toBe(5);
    expect(await recorded()).toEqual([1, 2, 3, 4, 5]);
  });

  it('creations that fail part-way: none recorded, and the rerun repeats the ones that ran without harm', async () => {
    const broken: Migration = {
      version: 12,
      name: 'create r12, then fail',
      statements: () => [
        'CREATE TABLE IF NOT EXISTS r12 (id UInt32) ENGINE = MergeTree ORDER BY no_such_column',
      ],
    };
    await expect(migrate(db, [creates(11, 'r11'), broken])).rejects.toThrow(/no_such_column/);
    expect(await recorded()).not.toContain(11);

    const report = await migrate(db, [creates(11, 'r11'), creates(12, 'r12')]);
    expect(report.applied.map((m) => m.version)).toEqual([11, 12]);
    expect(await recorded()).toEqual([1, 2, 3, 4, 5, 11, 12]);
  });
});
