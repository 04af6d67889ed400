/**
 * The stored-rows feed's queries. Predictions are read back from `predictions` (already checked
 * and split into `features_num` / `features_str` by the collectors), a challenger's columns
 * computed by the engine, and returned as one row per batch: the shadow rows' leading fields
 * pre-rendered as JSON, the feature matrix as hex Float32, one refusal digit per row. JavaScript
 * then never parses an event.
 */
import type { FeatureSpec } from '../inference/index.js';

/**
 * The insert-progress watermark: every prediction with `ingested_at` at or before `safe` is
 * committed. `ingested_at` is `now64(3)` of the insert query (evaluated after the query entered
 * the process list), so an insert still running has rows no older than its start; inserts not
 * started yet will have rows at or after `now`. Any running insert holds the mark (the engine
 * does not say which table a query writes), which only delays scoring.
 */
export const WATERMARK_SQL = `SELECT toUnixTimestamp64Milli(now64(3)) AS now,
  (SELECT minOrNull(toUnixTimestamp64Milli(now64(3)) - toInt64(ceil(elapsed * 1000)))
     FROM system.processes WHERE query_kind = 'Insert') AS oldest`;

/** The last `ingested_at` (epoch ms) certainly committed, 2 ms inside the mark for rounding. */
export function safeMark(now: number, oldest: number | null): number {
  return Math.min(now, oldest ?? now) - 2;
}

const RANGE = `model_id = {model:String} AND model_version != {version:String}
    AND ingested_at > fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
    AND ingested_at <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')`;

/** Rows per insert (`ingested_at` value) in the range, so a batch never splits one insert. */
export const GROUPS_SQL = `SELECT toUnixTimestamp64Milli(ingested_at) AS at, count() AS n FROM predictions
  WHERE ${RANGE} GROUP BY at ORDER BY at LIMIT 10000`;

/**
 * The end of the next batch: the latest insert whose rows still fit in `maxRows` (at least the
 * first insert, however large), or `hi` when every insert in the range fits.
 */
export function batchEnd(groups: readonly { at: number; n: number }[], hi: number, maxRows: number): number {
  let rows = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i] as { at: number; n: number };
    if (i > 0 && rows + g.n > maxRows) return (groups[i - 1] as { at: number }).at;
    rows += g.n;
  }
  return groups.length >= 10_000 ? (groups.at(-1) as { at: number }).at : hi;
}

// Per graph column: its float value (category index for encoded strings; NaN when absent) and
// its refusal code, 0 ok, 1 missing, 2 wrong type (a number sent as a string or the reverse;
// booleans are stored as the strings 'true'/'false').
const VALUE = `if(empty(cats),
      if(mapContains(features_num, k), features_num[k], nan),
      if(mapContains(features_str, k), indexOf(cats, features_str[k]) - 1, nan))`;
const CODE = `if(empty(cats),
      multiIf(mapContains(features_num, k), 0, mapContains(features_str, k), 2, 1),
      multiIf(mapContains(features_str, k), 0, mapContains(features_num, k), 2, 1))`;

/** One row for the whole batch; parameters from `batchParams`. */
export const BATCH_SQL = `SELECT length(r) AS n,
    base64Encode(arrayStringConcat(arrayMap(t -> t.1, r), '\\n')) AS head,
    arrayStringConcat(arrayMap(t -> t.2, r)) AS x,
    arrayStringConcat(arrayMap(t -> toString(t.3), r)) AS bad
  FROM (SELECT groupArray((
      formatRowNoNewline('JSONEachRow', {model:String} AS model_id, {version:String} AS challenger_version,
        prediction_id, timestamp, model_version AS production_version, prediction AS production_prediction,
        score AS production_score),
      arrayStringConcat(arrayMap((k, cats) -> hex(toFloat32(${VALUE})), {names:Array(String)}, {cats:Array(Array(String))})),
      arrayFirst(c -> c != 0, arrayMap((k, cats) -> ${CODE}, {names:Array(String)}, {cats:Array(Array(String))}))
    )) AS r
    FROM predictions WHERE ${RANGE})`;

export interface RangeParams {
  model: string;
  version: string;
  lo: number;
  hi: number;
}

/** The batch query's parameters for a challenger's graph columns (a category list or none). */
export function batchParams(range: RangeParams, columns: readonly FeatureSpec[]): Record<string, unknown> {
  return {
    ...range,
    names: columns.map((c) => c.name),
    cats: columns.map((c) => (c.categories === undefined ? [] : [...c.categories])),
  };
}
