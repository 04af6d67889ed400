/**
 * Data quality counted inside ClickHouse, per window and feature key, over the same rows drift reads
 * (predictions FINAL, the same window expression). Parameters: {model}, {version}, {from}, {to}
 * (the range), {revision} (the reference's), {num_cols} and {cat_cols} (the reference's numerical
 * and categorical features, as the evaluation sees them), {ref_cols} (all of its features).
 *
 * The reference side is read in the same query from `drift_reference_values`, so the range and
 * the categories are ClickHouse's own values: no float goes through a query parameter, and a
 * number category is `numberCategory(n)` on both sides. A category is matched as
 * `<byte length of column>:<column><value>` so no column/value pair can pass for another.
 */
import { RANGE } from '../store/sql.js';

const REFERENCE = `model_id = {model:String} AND model_version = {version:String} AND revision = {revision:UInt64} AND role = 'feature'`;

/** A number as a category: `+ 0` turns -0 into 0, so they are one category, as in drift (`String(n)`). */
function numberCategory(value: string): string {
  return `toString(${value} + 0)`;
}

function categoryKey(column: string, value: string): string {
  return `concat(toString(length(${column})), ':', ${column}, ${value})`;
}

/** The reference's categories of the categorical features, as keys. */
const REFERENCE_CATEGORIES = `(
  SELECT ${categoryKey('column', 't')} FROM drift_reference_values FINAL ARRAY JOIN texts AS t
  WHERE ${REFERENCE} AND part = 'text' AND column IN {cat_cols:Array(String)}
  UNION ALL
  SELECT ${categoryKey('column', numberCategory('n'))} FROM drift_reference_values FINAL ARRAY JOIN arrayDistinct(numbers) AS n
  WHERE ${REFERENCE} AND part = 'number' AND column IN {cat_cols:Array(String)})`;

/** (columns, mins, maxs) of the numerical features: a constant once evaluated, so `transform` looks them up in a hash table. */
const REFERENCE_RANGES = `(
  SELECT (groupArray(column), groupArray(arrayMin(numbers)), groupArray(arrayMax(numbers))) FROM drift_reference_values FINAL
  WHERE ${REFERENCE} AND part = 'number' AND column IN {num_cols:Array(String)} AND length(numbers) > 0)`;

/**
 * Per window and feature key: finite numbers, those outside the reference's range (a column
 * without a range gets (-inf, inf), so none), and texts — for every reference feature
 * ({ref_cols}; `keep` is their number plus that of new keys wanted) and for the keys the reference
 * does not have with the most values. A
 * producer putting ids in feature names sends a new key per row: every one of them came back.
 * One scan of each map, as before the cap. Measured on 200k rows × 50 features: a per-row
 * `indexOf` into the range arrays took 10 s, `transform` 0.4 s (a plain scan 0.2 s).
 */
export function columnCountsQuery(window: string, keep: number): string {
  if (!Number.isSafeInteger(keep) || keep < 0) throw new Error(`bad column limit ${keep}`);
  return `SELECT w, column, sum(numbers) AS numbers, sum(outside) AS outside, sum(texts) AS texts FROM (
      WITH ${REFERENCE_RANGES} AS ranges
      SELECT toInt64(${window}) AS w, k AS column,
        countIf(isFinite(v)) AS numbers,
        countIf(isFinite(v) AND (v < transform(k, ranges.1, ranges.2, -inf) OR v > transform(k, ranges.1, ranges.3, inf))) AS outside,
        0 AS texts
      FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
      WHERE ${RANGE} GROUP BY w, column
      UNION ALL
      SELECT toInt64(${window}) AS w, k AS column, 0 AS numbers, 0 AS outside, count() AS texts
      FROM predictions FINAL ARRAY JOIN mapKeys(features_str) AS k
      WHERE ${RANGE} GROUP BY w, column)
    GROUP BY w, column
    ORDER BY has({ref_cols:Array(String)}, column) DESC, numbers + texts DESC, column
    LIMIT ${keep} BY w`;
}

/**
 * Per window and categorical feature: the numbers and the texts that are no reference category.
 * Only categorical keys are read (run it only when there are some): the category key is built per
 * value, which costs where it is not needed.
 */
export function unseenCountsQuery(window: string): string {
  const unseen = (value: string) => `${categoryKey('k', value)} NOT IN ${REFERENCE_CATEGORIES}`;
  return `SELECT w, column, sum(numbers) AS numbers, sum(texts) AS texts FROM (
      SELECT toInt64(${window}) AS w, k AS column, count() AS numbers, 0 AS texts
      FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
      WHERE ${RANGE} AND k IN {cat_cols:Array(String)} AND isFinite(v) AND ${unseen(numberCategory('v'))}
      GROUP BY w, column
      UNION ALL
      SELECT toInt64(${window}) AS w, k AS column, 0 AS numbers, count() AS texts
      FROM predictions FINAL ARRAY JOIN mapKeys(features_str) AS k, mapValues(features_str) AS s
      WHERE ${RANGE} AND k IN {cat_cols:Array(String)} AND ${unseen('s')}
      GROUP BY w, column)
    GROUP BY w, column`;
}

/**
 * The most frequent unseen categories per window and categorical feature. Only right-typed
 * values: texts of text columns, numbers of number columns ({text_cols} names the text ones).
 */
export function topUnseenQuery(window: string, top: number): string {
  const unseen = (value: string) => `${categoryKey('k', value)} NOT IN ${REFERENCE_CATEGORIES}`;
  return `SELECT w, column, value, count() AS c FROM (
      SELECT toInt64(${window}) AS w, k AS column, s AS value
      FROM predictions FINAL ARRAY JOIN mapKeys(features_str) AS k, mapValues(features_str) AS s
      WHERE ${RANGE} AND k IN {text_cols:Array(String)} AND ${unseen('s')}
      UNION ALL
      SELECT toInt64(${window}) AS w, k AS column, ${numberCategory('v')} AS value
      FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
      WHERE ${RANGE} AND k IN {cat_cols:Array(String)} AND k NOT IN {text_cols:Array(String)} AND isFinite(v) AND ${unseen(numberCategory('v'))})
    GROUP BY w, column, value ORDER BY c DESC, value LIMIT ${top} BY w, column`;
}

/** Rows per window. */
export function rowsQuery(window: string): string {
  return `SELECT toInt64(${window}) AS w, count() AS n FROM predictions FINAL WHERE ${RANGE} GROUP BY w ORDER BY w`;
}
