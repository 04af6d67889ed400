import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRAIN_TRIGGERS_SQL } from '../../../src/dashboards/index.js';
import { migrate, openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';
import { toPayload } from '../../../src/triggers/engine/trigger.js';
import { TriggerStore } from '../../../src/triggers/index.js';
import { expandMacros } from '../../support/grafana-macros.js';
import { allMigrations } from '../../support/migrations.js';

/** The models dashboard's variable (single-valued) and macros as Grafana and the plugin expand them. */
function expand(sql: string, model: string, from: number, to: number): string {
  return expandMacros(sql, { from, to, variables: { model } });
}

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2, 10);
const MODEL = `churn's \\new "model"`;

describe('the retrain-trigger annotations of the models dashboard (embedded engine)', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-trigger-annotations-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'trigger_annotations', dataDir });
    await migrate(db, allMigrations);
    const firing = (model: string, hour: number, reason: 'drift' | 'performance', hours = 1) =>
      toPayload(
        {
          modelId: model,
          version: '2',
          reason,
          start: T0 + hour * HOUR,
          end: T0 + (hour + hours) * HOUR,
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
      // A day-long window that began before the range and ends inside it: it overlaps the range.
      firing(MODEL, -20, 'performance', 24),
      // And one that ended before the range began.
      firing(MODEL, -30, 'drift', 24),
      firing('other', 0, 'drift'),
    ];
    await store.insert(triggers);
    await store.insert(triggers.slice(0, 1)); // the same firing stored twice: FINAL shows it once
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("shows the model's triggers whose window overlaps the time range, once each, as regions tagged by reason", async () => {
    const result = await db.client.query({
      query: expand(RETRAIN_TRIGGERS_SQL, MODEL, T0, T0 + 4 * HOUR),
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ time: string; timeEnd: string; text: string; tags: string[] }>();
    expect(rows.map((r) => [r.time, r.timeEnd, r.tags])).toEqual([
      ['2026-03-01 14:00:00.000', '2026-03-02 14:00:00.000', ['performance']],
      ['2026-03-02 10:00:00.000', '2026-03-02 11:00:00.000', ['drift']],
      ['2026-03-02 11:00:00.000', '2026-03-02 12:00:00.000', ['performance']],
    ]);
    expect(rows[1]!.text).toMatch(/^drift retrain trigger, version 2 \([0-9a-f-]{36}\)$/);
  });
});
