import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRAIN_TRIGGERS_SQL } from '../../../src/dashboards/index.js';
import { migrate, openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';
import { toPayload } from '../../../src/triggers/engine/trigger.js';
import { TriggerStore } from '../../../src/triggers/index.js';
import { allMigrations } from '../../support/migrations.js';

/** The plugin's expansion of the variable and the time macro, as in test/unit/dashboards/clickhouse-sql.test.ts. */
function expand(sql: string, model: string, from: number, to: number): string {
  return sql
    .replaceAll('${model:sqlstring}', `'${model.replaceAll("'", "''")}'`)
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_, c: string) => `${c} >= toDateTime(${from / 1000}) AND ${c} <= toDateTime(${to / 1000})`,
    );
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2, 10);
const MODEL = "churn's model";

describe('the retrain-trigger annotations of the models dashboard (embedded engine)', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-trigger-annotations-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'trigger_annotations', dataDir });
    await migrate(db, allMigrations);
    const firing = (model: string, hour: number, reason: 'drift' | 'performance') =>
      toPayload(
        {
          modelId: model,
          version: '2',
          reason,
          start: T0 + hour * HOUR,
          end: T0 + (hour + 1) * HOUR,
          evidence: {},
        },
        { drift: { columns: ['a'] } },
        T0 + 9 * HOUR,
      );
    const store = new TriggerStore(db);
    const triggers = [
      firing(MODEL, 0, 'drift'),
      firing(MODEL, 1, 'performance'),
      firing(MODEL, 8, 'drift'),
      firing('other', 0, 'drift'),
    ];
    await store.insert(triggers);
    await store.insert(triggers.slice(0, 1)); // the same firing stored twice: FINAL shows it once
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the model's triggers in the time range, once each, as regions tagged by reason", async () => {
    const result = await db.client.query({
      query: expand(RETRAIN_TRIGGERS_SQL, MODEL, T0, T0 + 4 * HOUR),
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ time: string; timeEnd: string; text: string; tags: string[] }>();
    expect(rows.map((r) => [r.time, r.timeEnd, r.tags])).toEqual([
      ['2026-03-02 10:00:00.000', '2026-03-02 11:00:00.000', ['drift']],
      ['2026-03-02 11:00:00.000', '2026-03-02 12:00:00.000', ['performance']],
    ]);
    expect(rows[0]!.text).toMatch(/^drift retrain trigger, version 2 \([0-9a-f-]{36}\)$/);
  });
});
