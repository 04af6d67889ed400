/**
 * A segment as SQL over `predictions`: the value expression, and a filter per segment. The
 * feature or tag name and the values are query parameters (`seg_*`), never SQL text.
 */
import type { SegmentSpec } from './spec.js';

/** Where one segment's predictions are: a condition on `predictions` columns and its parameters. */
export interface SegmentFilter {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * A prediction's segment value, NULL when it has none: a feature's text (booleans are
 * 'true'/'false'), or its number as ClickHouse's `toString` writes it (3, not 3.0, the form
 * drift's categories take), after `+ 0` so that -0 is 0 (as drift's and quality's categories);
 * or a tag's text. Every filter compares with this one expression, so value '0' holds the -0s.
 */
export function segmentValueSql(spec: SegmentSpec): string {
  if (spec.kind === 'tag') return `if(mapContains(tags, {seg_name:String}), tags[{seg_name:String}], NULL)`;
  return `multiIf(mapContains(features_str, {seg_name:String}), features_str[{seg_name:String}],
    mapContains(features_num, {seg_name:String}) AND isFinite(features_num[{seg_name:String}]), toString(features_num[{seg_name:String}] + 0),
    NULL)`;
}

/** The predictions whose value is `value`. */
export function valueFilter(spec: SegmentSpec, value: string): SegmentFilter {
  return {
    sql: `(${segmentValueSql(spec)}) = {seg_value:String}`,
    params: { seg_name: spec.name, seg_value: value },
  };
}

/** The predictions with a value that is none of `values` (the `other` segment). */
export function otherFilter(spec: SegmentSpec, values: readonly string[]): SegmentFilter {
  return {
    sql: `(${segmentValueSql(spec)}) NOT IN {seg_values:Array(String)}`,
    params: { seg_name: spec.name, seg_values: values },
  };
}

/** The predictions without the feature or tag. */
export function missingFilter(spec: SegmentSpec): SegmentFilter {
  return { sql: `(${segmentValueSql(spec)}) IS NULL`, params: { seg_name: spec.name } };
}

const SCOPE = `model_id = {seg_model:String} AND model_version IN {seg_versions:Array(String)}
  AND timestamp >= fromUnixTimestamp64Milli({seg_from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({seg_to:Int64}, 'UTC')`;

/**
 * Bytes one segment read (the totals, the top values) may take in the engine: grouping a key
 * with a value per prediction (`tag:request_id`) over a long range builds a hash table of every
 * value (measured: more than 286 MB for 2M 46-character values), in the service's own process
 * on the embedded engine. Above it the read fails (MEMORY_LIMIT_EXCEEDED, a 400).
 * @default 256 MiB
 */
export const DEFAULT_SEGMENT_MAX_MEMORY_BYTES = 256 * 1024 ** 2;

/**
 * The query's own memory bound, a SETTINGS clause: it holds for this query only (settings passed
 * beside the query are `SET` in the embedded engine's session and would bound every later query
 * on that connection).
 */
function memoryBound(maxMemoryBytes: number): string {
  if (!Number.isSafeInteger(maxMemoryBytes) || maxMemoryBytes < 1)
    throw new RangeError(
      `segment reads: max memory must be a positive whole number of bytes (${maxMemoryBytes})`,
    );
  return `SETTINGS max_memory_usage = ${maxMemoryBytes}`;
}

/** Predictions in scope, and how many have no value. */
export function totalsQuery(spec: SegmentSpec, maxMemoryBytes = DEFAULT_SEGMENT_MAX_MEMORY_BYTES): string {
  return `SELECT count() AS total, countIf(v IS NULL) AS missing
    FROM (SELECT ${segmentValueSql(spec)} AS v FROM predictions FINAL WHERE ${SCOPE})
    ${memoryBound(maxMemoryBytes)}`;
}

/** The most frequent values in scope, at most {seg_limit}; ties by value, so the choice is stable. */
export function topValuesQuery(spec: SegmentSpec, maxMemoryBytes = DEFAULT_SEGMENT_MAX_MEMORY_BYTES): string {
  return `SELECT v, count() AS n
    FROM (SELECT ${segmentValueSql(spec)} AS v FROM predictions FINAL WHERE ${SCOPE})
    WHERE v IS NOT NULL GROUP BY v ORDER BY n DESC, v ASC LIMIT {seg_limit:UInt32}
    ${memoryBound(maxMemoryBytes)}`;
}
