/**
 * `segment_refused_windows`: the windows of a declared segmentation whose segments could not be
 * chosen under the memory bound (too many distinct values). A closed window keeps its values, so
 * the segment loop records it, logs it and resumes after it (store.ts `lastSegmentEnds`) instead
 * of failing on it every run. Kept apart from `segment_results`, whose readers (gauges, stored
 * answers, retrain conditions, dashboards) take every row there for a segment's window.
 */
import type { Database, Migration } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import { insertJsonRows } from '../store/references.js';
import type { SegmentWindowQuery } from './store.js';

/** Keyed by (model, version, segmentation, window start): instances and restarts refusing a window write one row. */
export const refusedWindowMigrations: Migration[] = [
  {
    version: 27,
    name: 'segments: windows refused by the segment loop',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS segment_refused_windows${onCluster} (
        model_id String,
        model_version String,
        segmentation String,
        window_start DateTime64(3, 'UTC'),
        window_end DateTime64(3, 'UTC'),
        reason String,
        reference_revision UInt64,
        refused_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, model_version, segmentation, window_start)`,
    ],
  },
];

export interface RefusedSegmentWindow {
  model_id: string;
  version: string;
  segmentation: string;
  start: string;
  end: string;
  /** The refusal's message. */
  reason: string;
  reference_revision: number;
}

/** Records a refused window (the resume point moves past it) and logs it: its segments are never stored. */
export async function recordRefusedWindow(
  db: Database,
  logger: Logger,
  w: RefusedSegmentWindow,
): Promise<void> {
  await insertJsonRows(db, 'segment_refused_windows', [
    {
      model_id: w.model_id,
      model_version: w.version,
      segmentation: w.segmentation,
      window_start: Date.parse(w.start),
      window_end: Date.parse(w.end),
      reason: w.reason,
      reference_revision: w.reference_revision,
    },
  ]);
  const { model_id: model, version, segmentation, start, end, reason } = w;
  logger.warn(
    { model, version, segmentation, start, end, reason },
    'segment window refused: its segments cannot be chosen; recorded in segment_refused_windows, evaluation goes on with the next window',
  );
}

/** The refused windows of a model (one version and segmentation, or all), oldest first. */
export async function readRefusedSegmentWindows(
  db: Database,
  query: Pick<SegmentWindowQuery, 'modelId' | 'version' | 'segmentation'>,
): Promise<RefusedSegmentWindow[]> {
  const where = ['model_id = {model:String}'];
  if (query.version !== undefined) where.push('model_version = {version:String}');
  if (query.segmentation !== undefined) where.push('segmentation = {seg:String}');
  const result = await db.client.query({
    query: `SELECT model_version, segmentation, toUnixTimestamp64Milli(window_start) AS start_ms,
                   toUnixTimestamp64Milli(window_end) AS end_ms, reason, reference_revision
            FROM segment_refused_windows FINAL WHERE ${where.join(' AND ')}
            ORDER BY start_ms, model_version, segmentation`,
    query_params: {
      model: query.modelId,
      ...(query.version === undefined ? {} : { version: query.version }),
      ...(query.segmentation === undefined ? {} : { seg: query.segmentation }),
    },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{
    model_version: string;
    segmentation: string;
    start_ms: number | string;
    end_ms: number | string;
    reason: string;
    reference_revision: number | string;
  }>();
  return rows.map((r) => ({
    model_id: query.modelId,
    version: r.model_version,
    segmentation: r.segmentation,
    start: new Date(Number(r.start_ms)).toISOString(),
    end: new Date(Number(r.end_ms)).toISOString(),
    reason: r.reason,
    reference_revision: Number(r.reference_revision),
  }));
}
