/**
 * SQL that reads column values of one model version's predictions (and their labels) in a time
 * range, by window. Every read of predictions and labels uses FINAL (redelivered events are
 * duplicate rows until merges run). Parameters: {model}, {version}, {from}, {to} (epoch ms).
 *
 * Value rules, the same as for uploaded rows: features split into numbers (`features_num`) and
 * texts (`features_str`, booleans as 'true'/'false'); a prediction or label is a number when
 * `*_num` is set and it is not a boolean, else text; score is a number.
 *
 * Each role is its own query, grouped by (window, column name) straight off the table: measured
 * on 100 × 1M values, grouping a UNION ALL of the roles by (window, role, column) took ~10x
 * longer (ClickHouse falls back to serialized keys for it).
 */
import type { ColumnRole } from '../engine/types.js';

export const RANGE = `model_id = {model:String} AND model_version = {version:String}
  AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`;

/** Which columns of each role a query reads; features by name, or every one there is. */
export interface ColumnSelection {
  features: string[] | 'all';
  prediction: boolean;
  score: boolean;
  label: boolean;
}

/** One role's values: one row per value, with its window (`window`), column name (`name`) and value (`value`). */
export interface Source {
  role: ColumnRole;
  window: string;
  name: string;
  value: string;
  /** FROM … WHERE … */
  from: string;
}

/**
 * A stored number that is a value: not null, not NaN, not ±Infinity. Older data may hold
 * non-finite numbers (a literal like 1e999 parsed to Infinity before the collectors refused them);
 * they are missing values, dropped like nulls, wherever values are read.
 */
export function finite(column: string): string {
  return `${column} IS NOT NULL AND isFinite(${column})`;
}

function featureFilter(selection: ColumnSelection): string {
  return selection.features === 'all' ? '' : ' AND k IN {features:Array(String)}';
}

function hasFeatures(selection: ColumnSelection): boolean {
  return selection.features === 'all' || selection.features.length > 0;
}

/**
 * Labels of the range's predictions (the latest label per prediction and model wins: labels
 * FINAL); a label naming the model wins over an unnamed one, one naming another model never
 * applies. A tuple, since argMax skips a NULL argument and `label_num` is nullable.
 */
function labelFrom(window: string, condition: string): string {
  return `FROM (SELECT prediction_id, ${window} AS w FROM predictions FINAL WHERE ${RANGE}) AS p
      INNER JOIN (
        SELECT prediction_id, chosen.1 AS label, chosen.2 AS label_num FROM (
          SELECT prediction_id, argMax((label, label_num), model_id != '') AS chosen FROM labels FINAL
          WHERE model_id IN ('', {model:String}) AND prediction_id IN (SELECT prediction_id FROM predictions WHERE ${RANGE})
          GROUP BY prediction_id)
      ) AS l ON p.prediction_id = l.prediction_id
      WHERE ${condition}`;
}

/** Numbers. `window` is an expression of `timestamp` (see `bucketSql`). */
export function numberSources(selection: ColumnSelection, window: string): Source[] {
  const out: Source[] = [];
  if (hasFeatures(selection)) {
    out.push({
      role: 'feature',
      window,
      name: 'k',
      value: 'v',
      from: `FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
        WHERE ${RANGE} AND isFinite(v)${featureFilter(selection)}`,
    });
  }
  if (selection.prediction) {
    out.push({
      role: 'prediction',
      window,
      name: `'prediction'`,
      value: 'assumeNotNull(prediction_num)',
      from: `FROM predictions FINAL WHERE ${RANGE} AND ${finite('prediction_num')} AND prediction NOT IN ('true', 'false')`,
    });
  }
  if (selection.score) {
    out.push({
      role: 'score',
      window,
      name: `'score'`,
      value: 'assumeNotNull(score)',
      from: `FROM predictions FINAL WHERE ${RANGE} AND ${finite('score')}`,
    });
  }
  if (selection.label) {
    out.push({
      role: 'label',
      window: 'p.w',
      name: `'label'`,
      value: 'assumeNotNull(l.label_num)',
      from: labelFrom(window, `${finite('l.label_num')} AND l.label NOT IN ('true', 'false')`),
    });
  }
  return out;
}

/** Texts. */
export function textSources(selection: ColumnSelection, window: string): Source[] {
  const out: Source[] = [];
  if (hasFeatures(selection)) {
    out.push({
      role: 'feature',
      window,
      name: 'k',
      value: 's',
      from: `FROM predictions FINAL ARRAY JOIN mapKeys(features_str) AS k, mapValues(features_str) AS s WHERE ${RANGE}${featureFilter(selection)}`,
    });
  }
  if (selection.prediction) {
    out.push({
      role: 'prediction',
      window,
      name: `'prediction'`,
      value: 'prediction',
      from: `FROM predictions FINAL WHERE ${RANGE} AND (prediction_num IS NULL OR prediction IN ('true', 'false'))`,
    });
  }
  if (selection.label) {
    out.push({
      role: 'label',
      window: 'p.w',
      name: `'label'`,
      value: 'l.label',
      from: labelFrom(window, `l.label_num IS NULL OR l.label IN ('true', 'false')`),
    });
  }
  return out;
}

/**
 * The most values a group of `sortedQuery` holds when the aggregate sorts them
 * (`groupArraySorted`'s own limit): a group with more is cut to its smallest this many, so a
 * column this long must be read again with `sort: 'array'` (`mayBeCut`).
 */
export const SORTED_AGGREGATE_LIMIT = 16_777_215;

/** Whether a column read by `sortedQuery` with `sort: 'aggregate'` may have lost values. */
export function mayBeCut(length: number): boolean {
  return length >= SORTED_AGGREGATE_LIMIT;
}

/**
 * Where `sortedQuery` sorts a group's values. `aggregate`: `groupArraySorted`, which sorts each
 * group's values in place as the aggregation finishes (on every core with `PARALLEL_GROUPS`):
 * measured on a 100 × 1M window written to a result file, seven alternating rounds, median 4.12 s
 * wall (7.1 CPU) against 4.67 (7.7) for `array`, the same values bit for bit; above
 * `SORTED_AGGREGATE_LIMIT` values a group it cuts (see `mayBeCut`). `array`: `arraySort` of
 * `groupArray`, a sorted copy of every group's values, whatever their number. Both take only
 * finite values here (every `numberSources` filters them): `groupArraySorted` would put a NaN
 * first, `arraySort` last.
 */
export type SortIn = 'aggregate' | 'array';

/** `aggregate` when no group can hold more values than the aggregate keeps, else `array`. */
export function sortFor(mostValuesOfAGroup: number): SortIn {
  return mostValuesOfAGroup < SORTED_AGGREGATE_LIMIT ? 'aggregate' : 'array';
}

/**
 * Per window and column: the values, sorted. `values` comes first so that in a Native block its
 * floats start 8-byte aligned and can be read without a copy.
 */
export function sortedQuery(source: Source, sort: SortIn): string {
  const values =
    sort === 'aggregate'
      ? `groupArraySorted(${SORTED_AGGREGATE_LIMIT})(${source.value})`
      : `arraySort(groupArray(${source.value}))`;
  return `SELECT ${values} AS values, toInt64(${source.window}) AS w, CAST(${source.name} AS String) AS column
    ${source.from} GROUP BY w, column`;
}

/** `sortedQuery` without the sort: the values of a window and column in no particular order. */
export function valuesQuery(source: Source): string {
  return `SELECT groupArray(${source.value}) AS values, toInt64(${source.window}) AS w, CAST(${source.name} AS String) AS column
    ${source.from} GROUP BY w, column`;
}

/**
 * Settings for the outermost query around `sortedQuery`: two-level aggregation even for a few
 * groups, so that the per-group sorts run on every core (measured on 100 × 1M values: 10.9 s
 * wall on one thread, 4.2 s on two).
 */
export const PARALLEL_GROUPS =
  'SETTINGS group_by_two_level_threshold = 1, group_by_two_level_threshold_bytes = 1';

/** Per window, column and value: how many. */
export function countsQuery(source: Source): string {
  return `SELECT toInt64(${source.window}) AS w, CAST(${source.name} AS String) AS column, ${source.value} AS v, count() AS c
    ${source.from} GROUP BY w, column, v`;
}

export function selectionOf(
  columns: { role: ColumnRole; column: string }[],
  allFeatures?: readonly string[],
): ColumnSelection {
  const features = columns.filter((c) => c.role === 'feature').map((c) => c.column);
  const wanted = new Set(features);
  return {
    // Reading every key is cheaper than testing each against a list (measured ~30% of the query).
    features:
      allFeatures !== undefined && allFeatures.length > 0 && allFeatures.every((f) => wanted.has(f))
        ? 'all'
        : features,
    prediction: columns.some((c) => c.role === 'prediction'),
    score: columns.some((c) => c.role === 'score'),
    label: columns.some((c) => c.role === 'label'),
  };
}
