/**
 * `segment_results`: the evaluation loop's per-segment windows, one row per model version,
 * segmentation, window and segment, holding the drift and the quality bucket of that segment
 * (the routes' bucket shapes, as JSON) and the few figures the gauges and retrain conditions read.
 */
import type { Database, Migration } from '../../platform/clickhouse/index.js';
import type { DriftBucket } from '../engine/types.js';
import type { QualityBucket } from '../quality/types.js';
import { insertJsonRows, type VersionKey } from '../store/references.js';
import type { SegmentReferenceUse } from './types.js';

/**
 * Keyed by (model, version, segmentation, window start, segment), so replays, restarts and
 * several instances write the same rows (ReplacingMergeTree keeps one). A segment is a value, or
 * `other` (the values beyond max_segments), or none (predictions without the feature or tag):
 * `value` is '' for the last two, told apart by `other` and `has_value`.
 */
export const segmentStoreMigrations: Migration[] = [
  {
    version: 31,
    name: 'segments: stored per-segment drift and quality windows',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS segment_results${onCluster} (
        model_id String,
        model_version String,
        segmentation String,
        window_start DateTime64(3, 'UTC'),
        window_end DateTime64(3, 'UTC'),
        other Bool,
        has_value Bool,
        value String,
        predictions UInt64,
        reference LowCardinality(String),
        drift_share Float64,
        dataset_drift Bool,
        drifted_columns Array(String),
        flagged_columns Array(String),
        drift String,
        quality String,
        reference_revision UInt64,
        evaluated_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (model_id, model_version, segmentation, window_start, other, has_value, value)`,
    ],
  },
];

/** One segment of one stored window. */
export interface StoredSegmentWindow {
  model_id: string;
  version: string;
  /** `feature:region` or `tag:channel`. */
  segmentation: string;
  start: string;
  end: string;
  value: string | null;
  other: boolean;
  predictions: number;
  /** What the segment's drift was measured against (types.ts). */
  reference: SegmentReferenceUse;
  /** `mixed`: the drift columns measured against the whole reference. */
  population_columns?: string[] | undefined;
  /** Why the segment was measured against the whole reference, when not for the usual reasons. */
  note?: string | undefined;
  reference_revision: number;
  drift: DriftBucket;
  quality: QualityBucket;
}

/**
 * The `drift` text of a stored row: the bucket, plus `population_columns` and `note` when there
 * are any (kept in the bucket's JSON, so the table needs no new column; taken out again on read).
 */
interface StoredDrift extends DriftBucket {
  population_columns?: string[];
  note?: string;
}

export async function writeSegmentWindows(
  db: Database,
  windows: readonly StoredSegmentWindow[],
): Promise<void> {
  await insertJsonRows(
    db,
    'segment_results',
    windows.map((w) => ({
      model_id: w.model_id,
      model_version: w.version,
      segmentation: w.segmentation,
      window_start: Date.parse(w.start),
      window_end: Date.parse(w.end),
      other: w.other,
      has_value: w.value !== null,
      value: w.value ?? '',
      predictions: w.predictions,
      reference: w.reference,
      drift_share: w.drift.drift_share,
      dataset_drift: w.drift.dataset_drift,
      drifted_columns: w.drift.columns.filter((c) => c.drifted).map((c) => c.column),
      flagged_columns: w.quality.columns.filter((c) => c.flagged).map((c) => c.column),
      drift: JSON.stringify({
        ...w.drift,
        ...(w.population_columns?.length ? { population_columns: w.population_columns } : {}),
        ...(w.note === undefined ? {} : { note: w.note }),
      } satisfies StoredDrift),
      quality: JSON.stringify(w.quality),
      reference_revision: w.reference_revision,
    })),
  );
}

/**
 * Ends (epoch ms) of a version's segmentation's latest stored window and latest refused one
 * (refused-windows.ts): the loop resumes after the later, the gauges follow the stored.
 */
export interface SegmentEnds {
  stored: number | undefined;
  refused: number | undefined;
}

export async function lastSegmentEnds(
  db: Database,
  key: VersionKey,
  segmentation: string,
): Promise<SegmentEnds> {
  const where =
    'model_id = {model:String} AND model_version = {version:String} AND segmentation = {seg:String}';
  const latest = (table: string) =>
    `SELECT count() AS n, toUnixTimestamp64Milli(max(window_end)) AS t, '${table}' AS source FROM ${table} WHERE ${where}`;
  const result = await db.client.query({
    query: `${latest('segment_results')} UNION ALL ${latest('segment_refused_windows')}`,
    query_params: { model: key.modelId, version: key.version, seg: segmentation },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ n: number | string; t: number | string; source: string }>();
  const end = (table: string) => {
    const row = rows.find((r) => r.source === table);
    return row && Number(row.n) > 0 ? Number(row.t) : undefined;
  };
  return { stored: end('segment_results'), refused: end('segment_refused_windows') };
}

export interface SegmentWindowQuery {
  modelId: string;
  version?: string | undefined;
  /** One segmentation; every one when undefined. */
  segmentation?: string | undefined;
  /** Windows starting at or after this (epoch ms). */
  from?: number | undefined;
  /** Windows starting before this (epoch ms). */
  to?: number | undefined;
  /** Only the latest `limit` window starts of each version and segmentation. */
  limit?: number | undefined;
}

interface Row {
  model_version: string;
  segmentation: string;
  start_ms: number | string;
  end_ms: number | string;
  other: boolean | number;
  has_value: boolean | number;
  value: string;
  predictions: number | string;
  reference: string;
  reference_revision: number | string;
  drift: string;
  quality: string;
}

/** Stored segment windows, oldest first (then by segmentation and segment). */
export async function readSegmentWindows(
  db: Database,
  query: SegmentWindowQuery,
): Promise<StoredSegmentWindow[]> {
  const where = ['model_id = {model:String}'];
  if (query.version !== undefined) where.push('model_version = {version:String}');
  if (query.segmentation !== undefined) where.push('segmentation = {seg:String}');
  if (query.from !== undefined) where.push(`window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`);
  if (query.to !== undefined) where.push(`window_start < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`);
  // The latest `limit` windows of each version and segmentation, by a dense rank over window starts.
  const ranked =
    query.limit === undefined
      ? ''
      : `AND (model_version, segmentation, window_start) IN (
           SELECT model_version, segmentation, window_start FROM (
             SELECT DISTINCT model_version, segmentation, window_start FROM segment_results WHERE ${where.join(' AND ')}
           ) ORDER BY window_start DESC LIMIT {limit:UInt32} BY model_version, segmentation)`;
  const result = await db.client.query({
    query: `SELECT model_version, segmentation, toUnixTimestamp64Milli(window_start) AS start_ms,
                   toUnixTimestamp64Milli(window_end) AS end_ms, other, has_value, value, predictions,
                   reference, reference_revision, drift, quality
            FROM segment_results FINAL WHERE ${where.join(' AND ')} ${ranked}
            ORDER BY start_ms, model_version, segmentation, other, has_value DESC, value`,
    query_params: {
      model: query.modelId,
      ...(query.version === undefined ? {} : { version: query.version }),
      ...(query.segmentation === undefined ? {} : { seg: query.segmentation }),
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.to === undefined ? {} : { to: query.to }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    },
    format: 'JSONEachRow',
  });
  return (await result.json<Row>()).map((r) => {
    const { population_columns, note, ...drift } = JSON.parse(r.drift) as StoredDrift;
    return {
      model_id: query.modelId,
      version: r.model_version,
      segmentation: r.segmentation,
      start: new Date(Number(r.start_ms)).toISOString(),
      end: new Date(Number(r.end_ms)).toISOString(),
      value: r.has_value ? r.value : null,
      other: Boolean(r.other),
      predictions: Number(r.predictions),
      reference: r.reference === 'segment' || r.reference === 'mixed' ? r.reference : 'population',
      ...(population_columns === undefined ? {} : { population_columns }),
      ...(note === undefined ? {} : { note }),
      reference_revision: Number(r.reference_revision),
      drift,
      quality: JSON.parse(r.quality) as QualityBucket,
    };
  });
}
