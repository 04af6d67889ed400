/** The `cbpe_calibrators` table and the reference rows a calibrator is fitted on. */
import { Readable } from 'node:stream';
import type { Database } from '../../platform/clickhouse/index.js';
import { LABELED_SCORES } from './labeled-sql.js';

export interface StoredCalibrator {
  modelId: string;
  version: string;
  revision: number;
  /** The reference period, epoch ms, [from, to). */
  from: number;
  to: number;
  /** Reference rows with a finite score and a label, and how many of them are positive. */
  rows: number;
  positives: number;
  calibrated: boolean;
  reason: 'single_class' | 'separable' | 'too_few_rows' | 'ece' | 'no_rows';
  eceBefore: number | null;
  eceAfter: number | null;
  thresholds: number[];
  values: number[];
}

interface Row {
  model_id: string;
  model_version: string;
  revision: string | number;
  from_ms: string | number;
  to_ms: string | number;
  rows: string | number;
  positives: string | number;
  calibrated: boolean;
  reason: StoredCalibrator['reason'];
  ece_before: number | null;
  ece_after: number | null;
  thresholds: number[];
  values: number[];
}

export async function readCalibrator(
  db: Database,
  modelId: string,
  version: string,
  revision: number,
): Promise<StoredCalibrator | undefined> {
  const result = await db.client.query({
    query: `SELECT model_id, model_version, revision, toUnixTimestamp64Milli(range_from) AS from_ms,
                   toUnixTimestamp64Milli(range_to) AS to_ms, rows, positives, calibrated, reason,
                   ece_before, ece_after, thresholds, values
            FROM cbpe_calibrators FINAL
            WHERE model_id = {model:String} AND model_version = {version:String} AND revision = {revision:UInt64}`,
    query_params: { model: modelId, version, revision },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<Row>();
  if (!row) return undefined;
  return {
    modelId: row.model_id,
    version: row.model_version,
    revision: Number(row.revision),
    from: Number(row.from_ms),
    to: Number(row.to_ms),
    rows: Number(row.rows),
    positives: Number(row.positives),
    calibrated: row.calibrated,
    reason: row.reason,
    eceBefore: row.ece_before,
    eceAfter: row.ece_after,
    thresholds: row.thresholds,
    values: row.values,
  };
}

export async function writeCalibrator(db: Database, c: StoredCalibrator, fittedAt: number): Promise<void> {
  const row = {
    model_id: c.modelId,
    model_version: c.version,
    revision: c.revision,
    range_from: c.from,
    range_to: c.to,
    rows: c.rows,
    positives: c.positives,
    calibrated: c.calibrated,
    reason: c.reason,
    ece_before: c.eceBefore,
    ece_after: c.eceAfter,
    thresholds: c.thresholds,
    values: c.values,
    fitted_at: fittedAt,
  };
  const result = await db.client.exec({
    query: `INSERT INTO cbpe_calibrators SETTINGS precise_float_parsing = 1 FORMAT JSONEachRow`,
    values: Readable.from([Buffer.from(JSON.stringify(row))]),
  });
  for await (const _ of result.stream) {
    // drain: the server answers with an empty body
  }
}

/** The version's labeled reference rows in [from, to), in event-time order: scores and 0/1 labels. */
export async function readReferenceRows(
  db: Database,
  key: { modelId: string; version: string; positiveClass: string },
  from: number,
  to: number,
): Promise<{ scores: Float64Array; labels: Uint8Array }> {
  const result = await db.client.query({
    query: LABELED_SCORES,
    query_params: { model: key.modelId, version: key.version, positive: key.positiveClass, from, to },
    format: 'JSONCompactEachRow',
  });
  const rows = await result.json<[number, number]>();
  const scores = new Float64Array(rows.length);
  const labels = new Uint8Array(rows.length);
  rows.forEach(([score, positive], i) => {
    scores[i] = score;
    labels[i] = positive;
  });
  return { scores, labels };
}
