/** `quality_results`: evaluated windows' data quality, one row per window and column. */
import type { Database, Migration } from '../../platform/clickhouse/index.js';
import { insertJsonRows, type VersionKey } from '../store/references.js';
import { selectWindows } from '../store/results.js';
import type { ColumnQuality, QualityBucket, QualityCheck } from './types.js';

/**
 * Keyed like `drift_results` (model, version, window start, column), so replays, restarts and
 * several instances write the same rows (ReplacingMergeTree keeps one).
 */
export const qualityMigrations: Migration[] = [
  {
    version: 21,
    name: 'drift: data quality window results',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS quality_results${onCluster} (
        model_id String,
        model_version String,
        window_start DateTime64(3, 'UTC'),
        window_end DateTime64(3, 'UTC'),
        column String,
        status LowCardinality(String),
        value_type LowCardinality(String),
        kind LowCardinality(String),
        values UInt64,
        missing_rate Float64,
        wrong_type_share Float64,
        unseen_share Nullable(Float64),
        top_unseen Array(String),
        top_unseen_counts Array(UInt64),
        out_of_range_share Nullable(Float64),
        flags Array(LowCardinality(String)),
        flagged Bool,
        count UInt64,
        reference_revision UInt64,
        evaluated_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (model_id, model_version, window_start, column)`,
    ],
  },
];

export async function writeQualityResults(
  db: Database,
  key: VersionKey,
  referenceRevision: number,
  buckets: readonly QualityBucket[],
): Promise<void> {
  const rows = buckets.flatMap((b) =>
    b.columns.map((c) => ({
      model_id: key.modelId,
      model_version: key.version,
      window_start: Date.parse(b.start),
      window_end: Date.parse(b.end),
      column: c.column,
      status: c.status,
      value_type: c.value_type ?? '',
      kind: c.kind ?? '',
      values: c.values,
      missing_rate: c.missing_rate,
      wrong_type_share: c.wrong_type_share,
      unseen_share: c.unseen_share,
      top_unseen: c.top_unseen.map((u) => u.value),
      top_unseen_counts: c.top_unseen.map((u) => u.count),
      out_of_range_share: c.out_of_range_share,
      flags: c.flags,
      flagged: c.flagged,
      count: b.count,
      reference_revision: referenceRevision,
    })),
  );
  await insertJsonRows(db, 'quality_results', rows);
}

export interface StoredQualityWindow extends QualityBucket {
  model_id: string;
  version: string;
  reference_revision: number;
}

interface Row {
  model_version: string;
  start_ms: number | string;
  end_ms: number | string;
  column: string;
  status: ColumnQuality['status'];
  value_type: string;
  kind: string;
  values: number | string;
  missing_rate: number;
  wrong_type_share: number;
  unseen_share: number | null;
  top_unseen: string[];
  top_unseen_counts: (number | string)[];
  out_of_range_share: number | null;
  flags: QualityCheck[];
  flagged: boolean | number;
  count: number | string;
  reference_revision: number | string;
}

export interface QualityWindowQuery {
  modelId: string;
  version?: string | undefined;
  /** Windows starting at or after this (epoch ms). */
  from?: number | undefined;
  /** Windows starting before this (epoch ms). */
  to?: number | undefined;
  /** The latest `limit` window starts (still returned oldest first). */
  limit?: number | undefined;
}

/** Stored windows of a model, oldest first (per version): what a retrain quality condition reads. */
export async function readQualityWindows(
  db: Database,
  query: QualityWindowQuery,
): Promise<StoredQualityWindow[]> {
  const selected = await selectWindows(db, 'quality_results', query);
  if (!selected) return [];
  const { where, params } = selected;
  const result = await db.client.query({
    // Aliases differ from the column names: ClickHouse would resolve them in WHERE too.
    query: `SELECT model_version, toUnixTimestamp64Milli(window_start) AS start_ms, toUnixTimestamp64Milli(window_end) AS end_ms,
                   column, status, value_type, kind, values, missing_rate, wrong_type_share, unseen_share, top_unseen,
                   top_unseen_counts, out_of_range_share, flags, flagged, count, reference_revision
            FROM quality_results FINAL WHERE ${where} ORDER BY start_ms, model_version, column`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const out = new Map<string, StoredQualityWindow>();
  for (const r of await result.json<Row>()) {
    const id = `${r.model_version}\u0000${r.start_ms}`;
    let w = out.get(id);
    if (!w) {
      w = {
        model_id: query.modelId,
        version: r.model_version,
        start: new Date(Number(r.start_ms)).toISOString(),
        end: new Date(Number(r.end_ms)).toISOString(),
        count: Number(r.count),
        flagged_columns: 0,
        columns: [],
        reference_revision: Number(r.reference_revision),
      };
      out.set(id, w);
    }
    const flagged = Boolean(r.flagged);
    if (flagged) w.flagged_columns++;
    w.columns.push({
      column: r.column,
      status: r.status,
      value_type: r.value_type === '' ? null : (r.value_type as ColumnQuality['value_type']),
      kind: r.kind === '' ? null : (r.kind as ColumnQuality['kind']),
      values: Number(r.values),
      missing_rate: r.missing_rate,
      wrong_type_share: r.wrong_type_share,
      unseen_share: r.unseen_share,
      top_unseen: r.top_unseen.map((value, k) => ({ value, count: Number(r.top_unseen_counts[k]) })),
      out_of_range_share: r.out_of_range_share,
      flags: r.flags,
      flagged,
    });
  }
  return [...out.values()];
}
