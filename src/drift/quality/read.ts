/** Runs the quality queries over [from, to) and gathers ClickHouse's counts per window and feature key. */
import type { Database } from '../../platform/clickhouse/index.js';
import { bucketEnd, bucketSql, type Bucket } from '../../platform/time/index.js';
import type { VersionKey } from '../store/references.js';
import { MAX_NEW_COLUMNS, TOP_UNSEEN } from './settings.js';
import { columnCountsQuery, rowsQuery, topUnseenQuery, unseenCountsQuery } from './sql.js';
import type { ColumnCounts, QualityReferenceColumn } from './types.js';

export interface QualityWindowCounts {
  start: number;
  end: number;
  count: number;
  columns: Map<string, ColumnCounts>;
}

export interface QualityReadRequest {
  key: VersionKey;
  revision: number;
  from: number;
  to: number;
  /** undefined: the whole range is one window. */
  window: Bucket | undefined;
  reference: readonly QualityReferenceColumn[];
  /** Called with the number of windows holding predictions before the columns are counted; may throw to refuse. */
  checkBuckets?: ((windows: number) => void) | undefined;
}

async function rows<T>(db: Database, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

function emptyCounts(): ColumnCounts {
  return { numbers: 0, texts: 0, outside: 0, unseenNumbers: 0, unseenTexts: 0, top: [] };
}

/**
 * Windows that hold predictions, in time order, with the counts of every reference feature and of
 * the MAX_NEW_COLUMNS keys the reference does not have with the most values.
 */
export async function readQualityCounts(
  db: Database,
  request: QualityReadRequest,
): Promise<QualityWindowCounts[]> {
  const { key, from, to, window, reference } = request;
  const w = window === undefined ? '{from:Int64}' : bucketSql(window, 'timestamp');
  const params = {
    model: key.modelId,
    version: key.version,
    from,
    to,
    revision: request.revision,
    ref_cols: reference.map((r) => r.column),
    num_cols: reference.filter((r) => r.kind === 'numerical').map((r) => r.column),
    cat_cols: reference.filter((r) => r.kind === 'categorical').map((r) => r.column),
    text_cols: reference.filter((r) => r.valueType === 'text').map((r) => r.column),
  };
  const windows = await rows<{ w: number | string; n: number | string }>(db, rowsQuery(w), params);
  request.checkBuckets?.(windows.length);
  const out = new Map<number, QualityWindowCounts>();
  for (const r of windows) {
    const start = Number(r.w);
    out.set(start, {
      start: window === undefined ? from : start,
      end: window === undefined ? to : bucketEnd(window, start),
      count: Number(r.n),
      columns: new Map(),
    });
  }
  const counts = (start: number, column: string): ColumnCounts | undefined => {
    const target = out.get(start)?.columns;
    if (!target) return undefined;
    let c = target.get(column);
    if (!c) target.set(column, (c = emptyCounts()));
    return c;
  };
  type Counts = { w: string; column: string; numbers: string; outside: string; texts: string };
  const keep = params.ref_cols.length + MAX_NEW_COLUMNS;
  for (const r of await rows<Counts>(db, columnCountsQuery(w, keep), params)) {
    const c = counts(Number(r.w), r.column);
    if (!c) continue;
    c.numbers = Number(r.numbers);
    c.outside = Number(r.outside);
    c.texts = Number(r.texts);
  }
  if (params.cat_cols.length > 0) {
    type Unseen = { w: string; column: string; numbers: string; texts: string };
    for (const r of await rows<Unseen>(db, unseenCountsQuery(w), params)) {
      const c = counts(Number(r.w), r.column);
      if (!c) continue;
      c.unseenNumbers = Number(r.numbers);
      c.unseenTexts = Number(r.texts);
    }
    type Top = { w: string; column: string; value: string; c: string };
    for (const r of await rows<Top>(db, topUnseenQuery(w, TOP_UNSEEN), params))
      counts(Number(r.w), r.column)?.top.push({ value: r.value, count: Number(r.c) });
  }
  return [...out.values()];
}
