import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeModelMetrics } from '../../src/metrics/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { allMigrations } from '../support/migrations.js';

/**
 * A bucket already read is not frozen: a label stored weeks after its prediction, or a
 * correction of a label, changes the next read of that bucket (issue 17; nothing may cache or
 * roll up a bucket's quality metrics past a label's arrival).
 */

const MODEL = 'late-model';
const HOUR = Date.UTC(2026, 0, 5, 10);
const DAY = 86_400_000;
const VERSIONS = [{ model_version: '1', task: 'binary_classification' as const, positive_class: '1' }];

describe('a label arriving after its bucket was read (embedded engine)', () => {
  let db: Database;
  let dataDir: string;
  const insert = (table: string, rows: object[]) =>
    db.insertJsonEachRow(table, Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n')));
  const label = (id: string, value: number, at: number) => ({
    prediction_id: id,
    model_id: MODEL,
    label: String(value),
    label_num: value,
    timestamp: new Date(at).toISOString(),
  });
  const read = async () => {
    const { buckets } = await computeModelMetrics(db, {
      model: MODEL,
      versions: VERSIONS,
      bucket: '1h',
      from: HOUR,
      to: HOUR + 3_600_000,
    });
    expect(buckets).toHaveLength(1);
    const [b] = buckets;
    return {
      labeled: b!.labeled,
      accuracy: b!.accuracy,
      precision: b!.precision,
      recall: b!.recall,
      roc_auc: b!.roc_auc,
    };
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-metrics-late-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'metrics_late', dataDir });
    await migrate(db, allMigrations);
    const scores: [string, number, number][] = [
      ['p1', 1, 0.9],
      ['p2', 1, 0.6],
      ['p3', 0, 0.3],
      ['p4', 0, 0.2],
    ];
    await insert(
      'predictions',
      scores.map(([id, prediction, score], i) => ({
        model_id: MODEL,
        model_version: '1',
        prediction_id: id,
        timestamp: new Date(HOUR + i * 60_000).toISOString(),
        prediction: String(prediction),
        prediction_num: prediction,
        score,
        latency_ms: 10,
        is_error: false,
      })),
    );
    await insert('labels', [label('p1', 1, HOUR + DAY), label('p3', 0, HOUR + DAY)]);
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('counts a label stored three weeks late, and a corrected label, on the next read', async () => {
    // Labeled: p1 (TP, 0.9) and p3 (TN, 0.3).
    expect(await read()).toEqual({ labeled: 2, accuracy: 1, precision: 1, recall: 1, roc_auc: 1 });

    // p4 was predicted 0 but is positive: a false negative whose score (0.2) ranks below p3's.
    await insert('labels', [label('p4', 1, HOUR + 21 * DAY)]);
    expect(await read()).toEqual({ labeled: 3, accuracy: 2 / 3, precision: 1, recall: 0.5, roc_auc: 0.5 });

    // p1's label corrected to 0 (a later event time wins): no true positive is left.
    await insert('labels', [label('p1', 0, HOUR + 22 * DAY)]);
    expect(await read()).toEqual({ labeled: 3, accuracy: 1 / 3, precision: 0, recall: 0, roc_auc: 0 });
  });
});
