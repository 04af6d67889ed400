/**
 * Data quality counted inside ClickHouse, per window and feature key, over the same rows drift reads
 * (predictions FINAL, the same window expression). Parameters: {model}, {version}, {from}, {to}
 * (the range), {revision} (the reference's), {num_cols} and {cat_cols} (the reference's numerical
 * and categorical features, as the evaluation sees them).
 *
 * The reference side is read in the same query from `drift_reference_values`, so the range and
 * the categories are ClickHouse's own values: no float goes through a query parameter, and a
 * number category is `toString(n)` on both sides. A category is matched as
 * `<byte length of column>:<column><value>` so no column/value pair can pass for another.
 */
import { RANGE } from '../store/sql.js';

const REFERENCE = `model_id = {model:String} AND model_version = {version:String} AND revision = {revision:UInt64} AND role = 'feature'`;

function categoryKey(column: string, value: string): string {
  return `concat(toString(length(${column})), ':', ${column}, ${value})`;
}

/** The reference's categories of the categorical features, as keys. */
const REFERENCE_CATEGORIES = `(
  SELECT ${categoryKey('column', 't')} FROM drift_reference_values FINAL ARRAY JOIN texts AS t
  WHERE ${REFERENCE} AND part = 'text' AND column IN {cat_cols:Array(String)}
  UNION ALL
  SELECT ${categoryKey('column', 'toString(n)')} FROM drift_reference_values FINAL ARRAY JOIN arrayDistinct(numbers) AS n
  WHERE ${REFERENCE} AND part = 'number' AND column IN {cat_cols:Array(String)})`;

/** (columns, mins, maxs) of the numerical features. */
const REFERENCE_RANGES = `(
  SELECT (groupArray(column), groupArray(arrayMin(numbers)), groupArray(arrayMax(numbers))) FROM drift_reference_values FINAL
  WHERE ${REFERENCE} AND part = 'number' AND column IN {num_cols:Array(String)} AND length(numbers) > 0)`;

/** Per window and key of `features_num`: finite numbers, those outside the reference's range, those no category. */
export function numbersQuery(window: string): string {
  return `WITH ${REFERENCE_RANGES} AS ranges, indexOf(ranges.1, k) AS i
    SELECT toInt64(${window}) AS w, k AS column,
      countIf(isFinite(v)) AS numbers,
      countIf(isFinite(v) AND i > 0 AND (v < arrayElement(ranges.2, i) OR v > arrayElement(ranges.3, i))) AS outside,
      countIf(isFinite(v) AND has({cat_cols:Array(String)}, k) AND ${categoryKey('k', 'toString(v)')} NOT IN ${REFERENCE_CATEGORIES}) AS unseen
    FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
    WHERE ${RANGE} GROUP BY w, column`;
}

/** Per window and key of `features_str`: texts, and those no category. */
export function textsQuery(window: string): string {
  return `SELECT toInt64(${window}) AS w, k AS column, count() AS texts,
      countIf(has({cat_cols:Array(String)}, k) AND ${categoryKey('k', 's')} NOT IN ${REFERENCE_CATEGORIES}) AS unseen
    FROM predictions FINAL ARRAY JOIN mapKeys(features_str) AS k, mapValues(features_str) AS s
    WHERE ${RANGE} GROUP BY w, column`;
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
      WHERE ${RANGE} AND has({text_cols:Array(String)}, k) AND ${unseen('s')}
      UNION ALL
      SELECT toInt64(${window}) AS w, k AS column, toString(v) AS value
      FROM predictions FINAL ARRAY JOIN mapKeys(features_num) AS k, mapValues(features_num) AS v
      WHERE ${RANGE} AND isFinite(v) AND has({cat_cols:Array(String)}, k) AND NOT has({text_cols:Array(String)}, k) AND ${unseen('toString(v)')})
    GROUP BY w, column, value ORDER BY c DESC, value LIMIT ${top} BY w, column`;
}

/** Rows per window. */
export function rowsQuery(window: string): string {
  return `SELECT toInt64(${window}) AS w, count() AS n FROM predictions FINAL WHERE ${RANGE} GROUP BY w ORDER BY w`;
}
