/** The `cbpe_calibrator_fits` table and the reference rows a calibrator is fitted on. */
import { Readable } from 'node:stream';
import type { Database } from '../../platform/clickhouse/index.js';
import type { Bucket } from '../../platform/time/index.js';
import {
  bandClassesQuery,
  LABELED_FINGERPRINT,
  LABELED_SCORED_COUNTS,
  LABELED_SCORES,
} from './labeled-sql.js';

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
  /** The labeled reference rows it was fitted on (`referenceFingerprint`): refitted when they change. */
  fingerprint: string;
  calibrated: boolean;
  reason: 'single_class' | 'separable' | 'too_few_rows' | 'ece' | 'no_rows';
  eceBefore: number | null;
  eceAfter: number | null;
  thresholds: number[];
  values: number[];
  /**
   * When the fit was stored (epoch ms; `fitted_at`, the table's version column): refits of a
   * revision are spaced from it. Unset on a fit not stored yet.
   */
  fittedAt?: number;
}

/** A version's reference: its rows are the labeled predictions of the version in [from, to). */
export interface ReferenceKey {
  modelId: string;
  version: string;
  positiveClass: string;
  from: number;
  to: number;
}

/** Per reference bucket: labeled predictions, positive labels, predicted positives among them. */
export interface BandClasses {
  start_ms: number;
  labeled: number;
  label_positives: number;
  predicted_positives: number;
}

/** Where calibrators and their reference rows are read and written (ClickHouse; a fake in unit tests). */
export interface CalibratorStore {
  read(modelId: string, version: string, revision: number): Promise<StoredCalibrator | undefined>;
  write(calibrator: StoredCalibrator, fittedAt: number): Promise<void>;
  fingerprint(reference: ReferenceKey): Promise<string>;
  referenceRows(reference: ReferenceKey): Promise<{ scores: Float64Array; labels: Uint8Array }>;
}

interface Row {
  model_id: string;
  model_version: string;
  revision: string | number;
  from_ms: string | number;
  to_ms: string | number;
  rows: string | number;
  positives: string | number;
  fingerprint: string;
  calibrated: boolean;
  reason: StoredCalibrator['reason'];
  ece_before: number | null;
  ece_after: number | null;
  thresholds: number[];
  values: number[];
  fitted_ms: string | number;
}

const referenceParams = (r: ReferenceKey) => ({
  model: r.modelId,
  version: r.version,
  positive: r.positiveClass,
  from: r.from,
  to: r.to,
});

export function clickhouseCalibratorStore(db: Database): CalibratorStore {
  return {
    read: (modelId, version, revision) => readCalibrator(db, modelId, version, revision),
    write: (calibrator, fittedAt) => writeCalibrator(db, calibrator, fittedAt),
    fingerprint: (reference) => readReferenceFingerprint(db, reference),
    referenceRows: (reference) => readReferenceRows(db, reference),
  };
}

/** The newest fit of a reference revision (ReplacingMergeTree versioned by `fitted_at`). */
export async function readCalibrator(
  db: Database,
  modelId: string,
  version: string,
  revision: number,
): Promise<StoredCalibrator | undefined> {
  const result = await db.client.query({
    query: `SELECT model_id, model_version, revision, toUnixTimestamp64Milli(range_from) AS from_ms,
                   toUnixTimestamp64Milli(range_to) AS to_ms, rows, positives, fingerprint, calibrated, reason,
                   ece_before, ece_after, thresholds, values, toUnixTimestamp64Milli(fitted_at) AS fitted_ms
            FROM cbpe_calibrator_fits FINAL
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
    fingerprint: row.fingerprint,
    calibrated: row.calibrated,
    reason: row.reason,
    eceBefore: row.ece_before,
    eceAfter: row.ece_after,
    thresholds: row.thresholds,
    values: row.values,
    fittedAt: Number(row.fitted_ms),
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
    fingerprint: c.fingerprint,
    calibrated: c.calibrated,
    reason: c.reason,
    ece_before: c.eceBefore,
    ece_after: c.eceAfter,
    thresholds: c.thresholds,
    values: c.values,
    fitted_at: fittedAt,
  };
  const result = await db.client.exec({
    query: `INSERT INTO cbpe_calibrator_fits SETTINGS precise_float_parsing = 1 FORMAT JSONEachRow`,
    values: Readable.from([Buffer.from(JSON.stringify(row))]),
  });
  for await (const _ of result.stream) {
    // drain: the server answers with an empty body
  }
}

/** The one row a query over the version's labeled reference rows answers, if any. */
async function referenceRow<T>(db: Database, query: string, reference: ReferenceKey): Promise<T | undefined> {
  const result = await db.client.query({
    query,
    query_params: referenceParams(reference),
    format: 'JSONEachRow',
  });
  const [row] = await result.json<T>();
  return row;
}

/** `rows:positives:checksum` of the labeled reference rows (LABELED_FINGERPRINT). */
export async function readReferenceFingerprint(db: Database, reference: ReferenceKey): Promise<string> {
  const row = await referenceRow<{ rows: string | number; positives: string | number; checksum: string }>(
    db,
    LABELED_FINGERPRINT,
    reference,
  );
  return row ? `${Number(row.rows)}:${Number(row.positives)}:${row.checksum}` : '0:0:0';
}

/** LABELED_SCORED_COUNTS: labeled reference predictions, and those with a finite score. */
export async function readLabeledCounts(
  db: Database,
  reference: ReferenceKey,
): Promise<{ labeled: number; scored: number }> {
  const row = await referenceRow<{ labeled: string | number; scored: string | number }>(
    db,
    LABELED_SCORED_COUNTS,
    reference,
  );
  return { labeled: Number(row?.labeled ?? 0), scored: Number(row?.scored ?? 0) };
}

/** The version's labeled reference rows in [from, to), in event-time order: scores and 0/1 labels. */
export async function readReferenceRows(
  db: Database,
  reference: ReferenceKey,
): Promise<{ scores: Float64Array; labels: Uint8Array }> {
  const result = await db.client.query({
    query: LABELED_SCORES,
    query_params: referenceParams(reference),
    format: 'TabSeparated',
  });
  return parseScoreLabelRows(await result.text());
}

/** `score\tlabel` lines into typed arrays (a few bytes a row, where a JSON array per row costs ~100). */
export function parseScoreLabelRows(text: string): { scores: Float64Array; labels: Uint8Array } {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  if (text.length > 0 && !text.endsWith('\n')) count++;
  const scores = new Float64Array(count);
  const labels = new Uint8Array(count);
  let start = 0;
  for (let k = 0; k < count; k++) {
    const tab = text.indexOf('\t', start);
    let end = text.indexOf('\n', tab);
    if (end === -1) end = text.length;
    scores[k] = Number(text.slice(start, tab));
    labels[k] = text.charCodeAt(tab + 1) === 49 /* '1' */ ? 1 : 0;
    start = end + 1;
  }
  return { scores, labels };
}

/** Per bucket of [from, to): labeled predictions, positive labels and predicted positives. */
export async function readBandClasses(
  db: Database,
  reference: ReferenceKey,
  bucket: Bucket,
): Promise<BandClasses[]> {
  const result = await db.client.query({
    query: bandClassesQuery(bucket),
    query_params: referenceParams(reference),
    format: 'JSONEachRow',
  });
  return (await result.json<Record<keyof BandClasses, string | number>>()).map((r) => ({
    start_ms: Number(r.start_ms),
    labeled: Number(r.labeled),
    label_positives: Number(r.label_positives),
    predicted_positives: Number(r.predicted_positives),
  }));
}
