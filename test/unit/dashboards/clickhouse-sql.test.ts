import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOURLY_ERROR_RATE_SQL, HOURLY_PREDICTIONS_SQL } from '../../../src/dashboards/index.js';
import { expandMacros } from '../../support/grafana-macros.js';
import { allMigrations } from '../../support/migrations.js';
import { migrate, openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';

/**
 * The dashboards' ClickHouse SQL on the embedded engine and the real schema (no Grafana here),
 * with the variables and macros expanded as the plugin documents them (test/support/grafana-macros.ts).
 */
function expand(sql: string, model: string, from: number, to: number): string {
  return expandMacros(sql, { from, to, variables: { model: [model], version: ['v1', 'v2'] } });
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2, 10);
const MODEL = "churn's model";

function row(id: string, version: string, time: number, isError: boolean, model = MODEL): string {
  return JSON.stringify({
    model_id: model,
    model_version: version,
    prediction_id: id,
    timestamp: new Date(time).toISOString(),
    prediction: '1',
    is_error: isError,
  });
}

describe('dashboard ClickHouse SQL (embedded engine)', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-dashboards-sql-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'dashboards_sql', dataDir });
    await migrate(db, allMigrations);
    const rows = [
      row('a1', 'v1', T0 + 1_000, false),
      row('a2', 'v1', T0 + 2_000, true),
      row('a3', 'v2', T0 + 3_000, false),
      row('a4', 'v1', T0 + HOUR + 5_000, false),
      row('late', 'v1', T0 + 5 * HOUR, false), // outside the time range
      row('o1', 'v1', T0 + 1_000, true, 'other'),
    ];
    await db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
    // A redelivered batch: separate parts, merged away only eventually; FINAL must not count it.
    await db.insertJsonEachRow('predictions', Buffer.from(rows.slice(0, 2).join('\n')));
  });

  afterAll(async () => {
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function query(sql: string): Promise<Record<string, unknown>[]> {
    const result = await db.client.query({
      query: expand(sql, MODEL, T0, T0 + 2 * HOUR),
      format: 'JSONEachRow',
    });
    return result.json<Record<string, unknown>>();
  }

  it('counts stored predictions per hour and version, without redelivered duplicates', async () => {
    expect(await query(HOURLY_PREDICTIONS_SQL)).toEqual([
      { time: '2026-03-02 10:00:00', model_version: 'v1', predictions: 2 },
      { time: '2026-03-02 10:00:00', model_version: 'v2', predictions: 1 },
      { time: '2026-03-02 11:00:00', model_version: 'v1', predictions: 1 },
    ]);
  });

  it('computes the error rate per hour and version', async () => {
    expect(await query(HOURLY_ERROR_RATE_SQL)).toEqual([
      { time: '2026-03-02 10:00:00', model_version: 'v1', error_rate: 0.5 },
      { time: '2026-03-02 10:00:00', model_version: 'v2', error_rate: 0 },
      { time: '2026-03-02 11:00:00', model_version: 'v1', error_rate: 0 },
    ]);
  });
});
