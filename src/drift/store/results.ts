/** `drift_results`: evaluated windows, one row per window and column. */
import type { Database } from '../../platform/clickhouse/index.js';
import type { ColumnKind, DriftMethod } from '../statistics/index.js';
import { COLUMN_ROLES, type ColumnDrift, type ColumnRole, type DriftBucket } from '../engine/types.js';
import { definedParams } from './native.js';
import { insertJsonRows, type VersionKey } from './references.js';

/** A stored window: a drift route bucket, with what produced it. */
export interface StoredDriftWindow extends DriftBucket {
  model_id: string;
  version: string;
  reference_revision: number;
  evaluated_at: string;
}

export async function writeWindowResults(
  db: Database,
  key: VersionKey,
  referenceRevision: number,
  buckets: readonly DriftBucket[],
): Promise<void> {
  const rows = buckets.flatMap((b) =>
    b.columns.map((c) => ({
      model_id: key.modelId,
      model_version: key.version,
      window_start: Date.parse(b.start),
      window_end: Date.parse(b.end),
      role: c.role,
      column: c.column,
      kind: c.kind,
      method: c.method,
      statistic: c.statistic,
      p_value: c.p_value,
      threshold: c.threshold,
      drifted: c.drifted,
      values: c.count,
      count: b.count,
      drift_share: b.drift_share,
      dataset_drift: b.dataset_drift,
      reference_revision: referenceRevision,
    })),
  );
  await insertJsonRows(db, 'drift_results', rows);
}

/** End of the latest evaluated window of a version (epoch ms), if any. */
export async function lastEvaluatedEnd(db: Database, key: VersionKey): Promise<number | undefined> {
  const result = await db.client.query({
    query: `SELECT count() AS n, toUnixTimestamp64Milli(max(window_end)) AS end FROM drift_results
            WHERE model_id = {model:String} AND model_version = {version:String}`,
    query_params: { model: key.modelId, version: key.version },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number; end: number }>();
  return row && Number(row.n) > 0 ? Number(row.end) : undefined;
}

export interface DriftWindowQuery {
  modelId: string;
  version?: string | undefined;
  /** Windows starting at or after this (epoch ms). */
  from?: number | undefined;
  /** Windows starting before this (epoch ms). */
  to?: number | undefined;
  /** The latest `limit` windows (still returned oldest first). */
  limit?: number | undefined;
}

interface ResultRow {
  model_version: string;
  start_ms: number;
  end_ms: number;
  role: ColumnRole;
  column: string;
  kind: ColumnKind;
  method: DriftMethod;
  statistic: number | null;
  p_value: number | null;
  threshold: number;
  drifted: boolean | number;
  values: number;
  count: number;
  drift_share: number;
  dataset_drift: boolean | number;
  reference_revision: number;
  evaluated_ms: number;
}

/** Stored windows of one table ordered by `window_start`: the rows a window query reads. */
export type WindowTable = 'drift_results' | 'quality_results';

/**
 * The WHERE clause and parameters selecting a model's stored windows in `table`; with `limit`,
 * the latest `limit` window starts and everything from the oldest of them on. Undefined when
 * `limit` finds no window.
 */
export async function selectWindows(
  db: Database,
  table: WindowTable,
  query: DriftWindowQuery,
): Promise<{ where: string; params: Record<string, unknown> } | undefined> {
  const where = ['model_id = {model:String}'];
  if (query.version !== undefined) where.push('model_version = {version:String}');
  if (query.from !== undefined) where.push(`window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`);
  if (query.to !== undefined) where.push(`window_start < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`);
  const params = definedParams({
    model: query.modelId,
    version: query.version,
    from: query.from,
    to: query.to,
    limit: query.limit,
  });
  if (query.limit !== undefined) {
    const starts = await db.client.query({
      query: `SELECT toUnixTimestamp64Milli(window_start) AS start FROM ${table} WHERE ${where.join(' AND ')}
              GROUP BY start ORDER BY start DESC LIMIT {limit:UInt32}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const rows = await starts.json<{ start: number | string }>();
    if (rows.length === 0) return undefined;
    where.push(`window_start >= fromUnixTimestamp64Milli({oldest:Int64}, 'UTC')`);
    params['oldest'] = Number(rows[rows.length - 1]!.start);
  }
  return { where: where.join(' AND '), params };
}

/**
 * Stored window results of a model, oldest first (per version): what the retrain policy reads
 * to find K consecutive drifted windows.
 */
export async function readDriftWindows(db: Database, query: DriftWindowQuery): Promise<StoredDriftWindow[]> {
  const selected = await selectWindows(db, 'drift_results', query);
  if (!selected) return [];
  const { where, params } = selected;
  const result = await db.client.query({
    // Aliases differ from the column names: ClickHouse would resolve them in WHERE too.
    query: `SELECT model_version, toUnixTimestamp64Milli(window_start) AS start_ms, toUnixTimestamp64Milli(window_end) AS end_ms,
                   role, column, kind, method, statistic, p_value, threshold, drifted, values, count, drift_share, dataset_drift,
                   reference_revision, toUnixTimestamp64Milli(evaluated_at) AS evaluated_ms
            FROM drift_results FINAL WHERE ${where}
            ORDER BY start_ms, model_version`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const rows = await result.json<ResultRow>();
  const out = new Map<string, StoredDriftWindow>();
  for (const r of rows) {
    const id = `${r.model_version}\u0000${r.start_ms}`;
    let w = out.get(id);
    if (!w) {
      w = {
        model_id: query.modelId,
        version: r.model_version,
        start: new Date(Number(r.start_ms)).toISOString(),
        end: new Date(Number(r.end_ms)).toISOString(),
        count: Number(r.count),
        drift_share: r.drift_share,
        dataset_drift: Boolean(r.dataset_drift),
        columns: [],
        reference_revision: Number(r.reference_revision),
        evaluated_at: new Date(Number(r.evaluated_ms)).toISOString(),
      };
      out.set(id, w);
    }
    const column: ColumnDrift = {
      column: r.column,
      role: r.role,
      kind: r.kind,
      method: r.method,
      statistic: r.statistic,
      p_value: r.p_value,
      threshold: r.threshold,
      drifted: Boolean(r.drifted),
      count: Number(r.values),
    };
    w.columns.push(column);
  }
  const order = (c: ColumnDrift) => COLUMN_ROLES.indexOf(c.role);
  for (const w of out.values())
    w.columns.sort((a, b) => order(a) - order(b) || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
  return [...out.values()];
}
