/**
 * The stored-rows feed's queries. Predictions are read back from `predictions` (already checked
 * and split into `features_num` / `features_str` by the collectors), a challenger's columns
 * computed by the engine, and returned as RowBinary whose leading fields become the shadow rows
 * as they are, with the features as Float32. JavaScript never parses an event.
 */
import { FLOAT32_MAX, type FeatureSpec } from '../inference/index.js';

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

// Qualified: the batch query's output names (model_id among them) would otherwise shadow the
// table's columns here.
const RANGE = `p.model_id = {model:String} AND p.model_version != {version:String}
    AND p.ingested_at > fromUnixTimestamp64Milli({lo:Int64}, 'UTC')
    AND p.ingested_at <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')`;

/**
 * The work-sharing slot of a prediction (leases.ts): its id's hash modulo the slot count, so a
 * replayed prediction falls in the same slot as its first copy.
 */
export const SLOT_SQL = 'cityHash64(p.prediction_id) % {slots:UInt16}';

/** A ClickHouse string literal: only `\\` and `'` can end it early; NUL is spelled out. */
export function sqlString(text: string): string {
  return `'${text.replace(/[\\'\0]/g, (c) => (c === '\0' ? '\\0' : `\\${c}`))}'`;
}

// Per graph column, written out (no lambda, which would copy both maps once per column per
// row): its float value (category index for encoded strings; NaN when absent) and its refusal
// codes, 1 missing, 2 wrong type (a number sent as a string or the reverse), 3 out of range (a
// number beyond float32: the core's rule calls it `out_of_range`, while the ±Infinity toFloat32
// makes of it would read as `not_finite`), the first refused column deciding.
function column(c: FeatureSpec): { value: string; codes: string[] } {
  const k = sqlString(c.name);
  const [own, other] =
    c.categories === undefined ? ['features_num', 'features_str'] : ['features_str', 'features_num'];
  const present = `mapContains(${own}, ${k})`;
  const absent = `NOT ${present} AND NOT mapContains(${other}, ${k})`;
  if (c.categories === undefined) return numberColumn(k, present, absent);
  return {
    value: `if(${present}, indexOf([${c.categories.map(sqlString).join(', ')}], ${own}[${k}]) - 1, nan)`,
    codes: [absent, '1', `NOT ${present}`, '2'],
  };
}

// A boolean is stored as the text 'true'/'false' in features_str (collectors/rows.ts): a number
// column reads it as 1/0, as the core's object path reads a boolean (inference/row-reader.ts).
function numberColumn(k: string, present: string, absent: string): { value: string; codes: string[] } {
  const text = `features_str[${k}]`;
  return {
    value: `if(${present}, features_num[${k}], multiIf(${text} = 'true', 1, ${text} = 'false', 0, nan))`,
    codes: [
      absent,
      '1',
      `NOT ${present} AND ${text} NOT IN ('true', 'false')`,
      '2',
      `abs(features_num[${k}]) > ${FLOAT32_MAX}`,
      '3',
    ],
  };
}

/**
 * The batch as RowBinary: the range's rows up to the insert holding its `limit`-th row by
 * `ingested_at`, whole (the subquery's `WITH TIES`, over the one cheap column: a batch never
 * splits one insert, so the cursor can move to the batch's latest `ingested_at`). This also
 * reads no more than the batch when a backlog waits, which ordering the whole select would not
 * (measured: 0.2-0.37 against 0.13-0.2 CPU s for 100,000 rows in 5 batches). Per prediction the
 * shadow row's leading fields in table order, then `ingested_at` (Int64 ms), the F Float32
 * features (NaN when absent) and `bad` (UInt8: 0 ok, 1 missing, 2 wrong type, 3 out of range),
 * read by stored-batch.ts. With `slots`, only the predictions of those work-sharing slots.
 * Parameters as `RangeParams`.
 */
export function batchQuery(columns: readonly FeatureSpec[], slots = false): string {
  const parts = columns.map(column);
  const x = parts.map((p, i) => `toFloat32(${p.value}) AS x${i}`).join(', ');
  const codes = parts.flatMap((p) => p.codes);
  const bad = codes.length === 0 ? '0' : `multiIf(${codes.join(', ')}, 0)`;
  const where = `${RANGE}${slots ? ` AND ${SLOT_SQL} IN {held:Array(UInt16)}` : ''}`;
  return `SELECT {model:String} AS model_id, {version:String} AS challenger_version, prediction_id,
    timestamp, model_version AS production_version, prediction AS production_prediction,
    score AS production_score, toUnixTimestamp64Milli(p.ingested_at) AS at, ${x}${x ? ', ' : ''}toUInt8(${bad}) AS bad
  FROM predictions AS p WHERE ${where}
    AND p.ingested_at <= (SELECT max(i) FROM (SELECT p.ingested_at AS i FROM predictions AS p WHERE ${where}
      ORDER BY i LIMIT {limit:UInt32} WITH TIES))
  FORMAT RowBinary`;
}

/**
 * Parser limits for a batch query: it writes out every graph column (and a categorical one's
 * categories), so 1,000 numeric features, fewer with long names, cross the default
 * `max_query_size` (262,144 bytes), and every batch of the challenger would be refused. The
 * limits the offline drift reader raises for its wide files (drift/offline/file-sql.ts), the query
 * size at least the query's own. On the embedded engine they stay in the connection's session,
 * where they only let longer statements through.
 */
export function batchSettings(query: string): Record<string, string> {
  return {
    max_query_size: String(Math.max(64 * 1024 * 1024, Buffer.byteLength(query) + 1)),
    max_ast_elements: '10000000',
    max_expanded_ast_elements: '10000000',
  };
}

export interface RangeParams {
  model: string;
  version: string;
  lo: number;
  hi: number;
  limit: number;
  /** With `slots`: the slot count and the slots read. */
  slots?: number;
  held?: number[];
}
