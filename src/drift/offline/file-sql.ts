/**
 * SQL that reads a CSV, JSONL or Parquet file with the embedded engine's `file()` readers
 * (parallel, native) and turns it into the columns the drift engine needs, with the same value
 * rules as `read-rows.ts` and `SampleBuilder` (see the README's "Offline CLI").
 *
 * Every row becomes cells `(role, name, kind, num, txt)`, plus one row marker (so the row count
 * comes from the same pass). Kinds: 0 missing (dropped), 1 number, 2 text, 3 a value the row rules
 * refuse (the caller re-reads the file in JavaScript for the exact `file:line.column` message),
 * 4 the row marker (3 on the marker: the row itself is bad, e.g. not a JSON object).
 */
export type FileFormat = 'csv' | 'jsonl' | 'parquet';

export const KIND = { missing: 0, number: 1, text: 2, bad: 3, row: 4 } as const;

/** A file column as the engine describes it. */
export interface FileColumn {
  name: string;
  type: string;
}

/** Settings for reading: text CSV cells (typed here, by our rules), exact decimal parsing. */
export const READ_SETTINGS = {
  input_format_csv_use_best_effort_in_schema_inference: 0,
  // 3: nullable as the file's metadata says (Parquet), so a null is missing, not 0 or ''; the
  // other columns stay plain, the fast path. CSV and JSONL reads name their types themselves.
  // (The client types this setting as 0 | 1, older than the engine's values.)
  schema_inference_make_columns_nullable: 3 as unknown as 0,
  precise_float_parsing: 1,
  // A file column named like one of the queries' own aliases (`r`, `n`, `v0000001`) is the column.
  prefer_column_name_to_alias: 1,
  // A CSV file ending in blank lines (many editors and scripts leave one), as the row reader skips them.
  input_format_csv_skip_trailing_empty_lines: 1,
  // Rows of more or fewer cells than the header are refused (inference allows them, for blank lines).
  input_format_csv_allow_variable_number_of_columns: 0,
  // The inferred schema depends on the settings above, which differ between reads: never reuse one.
  schema_inference_use_cache_for_file: 0,
  // A file of 10,000 columns makes a long query (Parquet) and many cells per row.
  max_query_size: '67108864',
  max_ast_elements: '10000000',
  max_expanded_ast_elements: '10000000',
} as const;

const NUMBER_RE = `'^[+-]?([0-9]+\\\\.?[0-9]*|\\\\.[0-9]+)([eE][+-]?[0-9]+)?$'`;
const INFINITE_RE = `'(?i)^[+-]?(inf|infinity)$'`;
const MISSING = `('', 'NaN', 'nan', 'NAN', 'null', 'NULL')`;

export function roleOf(name: string): string {
  return `multiIf(${name} = 'prediction', 'prediction', ${name} = 'score', 'score', ${name} = 'label', 'label', 'feature')`;
}

/** Whether a parsed number is there and finite (`toFloat64OrNull('1e999')` is inf, not null). */
function finite(x: string): string {
  return `ifNull(isFinite(${x}), 0)`;
}

/** A string in a file: text, except that a prediction or label holding a finite numeric string is a number (the collectors' rule). */
function stringKind(s: string, role: string): string {
  return `multiIf(${role} = 'score', 3, ${role} != 'feature' AND ${finite(`toFloat64OrNull(trimBoth(${s}))`)}, 1, 2)`;
}

function stringNum(s: string): string {
  return `ifNull(toFloat64OrNull(trimBoth(${s})), 0)`;
}

/** A CSV cell, as pandas writes them: missing markers, decimal numbers, else text; infinity is refused. */
function csvCell(c: string, role: string): string {
  return `multiIf(${c} IN ${MISSING}, 0, match(${c}, ${INFINITE_RE}), 3, match(${c}, ${NUMBER_RE}), if(${finite(`toFloat64OrNull(${c})`)}, 1, 3), ${stringKind(c, role)})`;
}

/** A raw JSON value: null dropped, booleans as text, strings by `stringKind`, numbers (1e999 refused), arrays and objects refused. */
function jsonCell(raw: string, role: string): string {
  const s = `JSONExtractString(${raw})`;
  return `multiIf(${raw} = 'null', 0, ${raw} IN ('true', 'false'), if(${role} = 'score', 3, 2), startsWith(${raw}, '"'), ${stringKind(s, role)},
    startsWith(${raw}, '[') OR startsWith(${raw}, '{'), 3, ${finite(`toFloat64OrNull(${raw})`)}, 1, 3)`;
}

function jsonNum(raw: string): string {
  return `if(startsWith(${raw}, '"'), ${stringNum(`JSONExtractString(${raw})`)}, ifNull(toFloat64OrNull(${raw}), 0))`;
}

function jsonTxt(raw: string): string {
  return `if(startsWith(${raw}, '"'), JSONExtractString(${raw}), ${raw})`;
}

function literal(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function identifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** `file(…)`: the path is a query parameter, so no quoting of user paths is needed. */
function fileFunction(format: FileFormat): string {
  if (format === 'csv') return `file({path:String}, 'CSVWithNames', {structure:String})`;
  return `file({path:String}, '${format === 'jsonl' ? 'LineAsString' : 'Parquet'}')`;
}

/**
 * Cells of every row: `r` (0-based data row), `role`, `name`, `kind`, `num`, `txt`. CSV and
 * Parquet name the columns to read (`{names}` in that order), so the reader skips the others.
 */
export function cellsQuery(format: FileFormat, columns: readonly FileColumn[]): string {
  if (format === 'csv') {
    // tuple(*) names its elements by position: 1, 2, …; '0' is the row marker.
    return `SELECT r, toUInt32(p.1) AS i, p.2 AS c, if(i = 0, '', {names:Array(String)}[i]) AS name, if(i = 0, '', ${roleOf('name')}) AS role,
        if(i = 0, 4, ${csvCell('c', 'role')}) AS kind, if(kind = 1, toFloat64OrZero(trimBoth(c)), 0) AS num, if(kind = 2, c, '') AS txt
      FROM (SELECT _row_number AS r, ${csvPairs(columns)} AS pairs FROM ${fileFunction(format)})
      ARRAY JOIN pairs AS p`;
  }
  if (format === 'jsonl') {
    // Entries of a `features` object are features; the same name also at the top level is ambiguous (refused).
    // A key repeated in one object keeps its last value, as JSON.parse (the other mode, the API) does.
    return `SELECT r, p.1 AS name, p.2 AS role, if(p.2 = '', toUInt8(p.3), ${jsonCell('p.3', 'role')}) AS kind, if(kind = 1, ${jsonNum('p.3')}, 0) AS num, if(kind = 2, ${jsonTxt('p.3')}, '') AS txt
      FROM (
        SELECT _row_number AS r, isValidJSON(line) AND JSONType(line) = 'Object' AS ok,
          ${lastOfEachKey('if(ok, JSONExtractKeysAndValuesRaw(line), [])', 'top_reversed')} AS top,
          arrayFilter(t -> t.1 = 'features' AND JSONType(t.2) = 'Object', top) AS nested,
          ${lastOfEachKey('if(empty(nested), [], JSONExtractKeysAndValuesRaw(nested[1].2))', 'inner_reversed')} AS inner,
          arrayExists(t -> t.1 NOT IN ('prediction', 'score', 'label', 'features') AND has(top.1, t.1), inner) AS ambiguous,
          arrayConcat(
            [('', '', if(ok AND NOT ambiguous, '4', '3'))],
            arrayMap(t -> (t.1, ${roleOf('t.1')}, t.2), arrayFilter(t -> NOT (t.1 = 'features' AND JSONType(t.2) = 'Object'), top)),
            arrayMap(t -> (t.1, 'feature', t.2), inner)
          ) AS cells
        FROM ${fileFunction(format)} WHERE NOT match(line, '^\\\\s*$')
      ) ARRAY JOIN cells AS p`;
  }
  const cells = columns.map((c) => parquetCell(c));
  return `SELECT r, c.1 AS name, c.2 AS role, c.3 AS kind, c.4 AS num, c.5 AS txt
    FROM (SELECT _row_number AS r, [('', '', toUInt8(4), toFloat64(0), '')${cells.map((c) => `, ${c}`).join('')}] AS cells FROM ${fileFunction(format)})
    ARRAY JOIN cells AS c`;
}

/** The (key, value) pairs of an object with only the last of each key kept (in reverse order). */
function lastOfEachKey(pairs: string, alias: string): string {
  return `arrayFilter((t, n) -> n = 1, arrayReverse(${pairs}) AS ${alias}, arrayEnumerateUniq(${alias}.1))`;
}

function csvPairs(columns: readonly FileColumn[]): string {
  if (columns.length === 0) return `[('0', '')]`;
  return `arrayPushFront(tupleToNameValuePairs(tuple(${columns.map((c) => identifier(c.name)).join(', ')})), ('0', ''))`;
}

export const NUMERIC_TYPE = /^(Nullable\()?(U?Int\d+|Float\d+|Decimal.*)\)?$/;
const BOOL_TYPE = /^(Nullable\()?Bool\)?$/;
/** Date and time types, which a timestamp column may have in Parquet. */
const TIME_TYPE = /^(Nullable\()?(Date|Date32|DateTime|DateTime64)(\(.*\))?\)?$/;

/** A typed Parquet column: numbers (NaN missing, as pandas writes missing floats; ±Inf refused), booleans as text, the rest as text. */
function parquetCell(column: FileColumn): string {
  const c = identifier(column.name);
  const name = literal(column.name);
  const role = roleOf(name);
  if (NUMERIC_TYPE.test(column.type)) {
    const x = `toFloat64(assumeNotNull(${c}))`;
    return `(${name}, ${role}, toUInt8(multiIf(isNull(${c}), 0, isNaN(${x}), 0, isInfinite(${x}), 3, 1)), ${x}, '')`;
  }
  if (BOOL_TYPE.test(column.type)) {
    return `(${name}, ${role}, toUInt8(if(isNull(${c}), 0, if(${role} = 'score', 3, 2))), toFloat64(0), if(assumeNotNull(${c}), 'true', 'false'))`;
  }
  const s = `toString(assumeNotNull(${c}))`;
  return `(${name}, ${role}, toUInt8(if(isNull(${c}), 0, ${stringKind(s, role)})), ${stringNum(s)}, ${s})`;
}

/**
 * Per column: the finite numbers sorted, the texts with counts, the refused values (count, first
 * row), and the rows (on the marker). `values` first: its floats then start 8-byte aligned.
 * `filter`: only the `{wanted}` names, and not the `{skip}` one (JSONL names its columns per row).
 */
export function columnsQuery(
  format: FileFormat,
  columns: readonly FileColumn[],
  filter: { wanted: boolean; skip: boolean },
): string {
  const keep = [
    filter.wanted ? `AND (role = '' OR has({wanted:Array(String)}, name))` : '',
    filter.skip ? `AND (role = '' OR name != {skip:String})` : '',
  ].join(' ');
  return `SELECT values, CAST(t.1 AS Array(String)) AS texts, CAST(t.2 AS Array(UInt64)) AS counts, role, column, bad, bad_row, rows FROM (
    SELECT arraySort(groupArrayIf(num, kind = 1)) AS values, sumMapIf([txt], [toUInt64(1)], kind = 2) AS t,
      CAST(role AS String) AS role, CAST(name AS String) AS column,
      countIf(kind = 3) AS bad, toUInt64(ifNull(minIf(r, kind = 3), 0)) AS bad_row, countIf(kind = 4) AS rows
    FROM (${cellsQuery(format, columns)}) WHERE kind != 0 ${keep}
    GROUP BY role, name)
    SETTINGS group_by_two_level_threshold = 1, group_by_two_level_threshold_bytes = 1`;
}

/** Types whose values go to `groupArray` as they are (CSV number columns are read as Nullable(Float64)). */
const FLOAT64_TYPE = /^(Nullable\()?Float64\)?$/;

/**
 * The fast path for columns the engine reads as numbers (Parquet number columns; CSV columns whose
 * cells all parse as numbers): one aggregation of the whole file into one row, each column's values
 * sorted (named by `sortedColumnName`, in the columns' order), then `n` (the row count); no row
 * per cell.
 * Null is left out; NaN sorts to the end and ±Infinity to either end of its column, where the
 * caller finds them (and asks `numbersQuery` for a refused value's row).
 * Measured on 100 columns × 100k rows of CSV: 1.42-1.50 CPU s a file against 1.72-1.79 for
 * `numbersQuery`; a condition or cast on every column (`groupArrayIf(x, NOT isNaN(x))`) costs more
 * than it saves here and grows faster than the number of columns (1.4 CPU s on a 1,000-column
 * file of 30 rows against 0.36 without).
 */
export function sortedNumbersQuery(format: FileFormat, columns: readonly FileColumn[]): string {
  const sorted = columns.map((c, k) => {
    const x = FLOAT64_TYPE.test(c.type) ? identifier(c.name) : `toFloat64(${identifier(c.name)})`;
    return `arraySort(groupArray(${x})) AS ${sortedColumnName(k, columns.length)}`;
  });
  return `SELECT ${sorted.join(', ')}, count() AS n FROM ${fileFunction(format)}`;
}

/**
 * The name of column k's values in `sortedNumbersQuery`, chosen so that every array's numbers
 * start 8-byte aligned in the Native result, which then hands them over as views instead of copies
 * (32 MB of fresh memory at 20 columns × 100k + 100k, and one of the run's two full garbage
 * collections). A Native block is the column and row counts (varints: 2 bytes, or 3 from 128
 * columns on), then per column its name and type (each a length byte and the text;
 * `Array(Float64)` is 14 characters) and, for one row, an 8-byte offset before the numbers: so the
 * first name has 6 (or 5) characters and the others 8.
 */
export function sortedColumnName(k: number, count: number): string {
  if (k > 0) return `v${String(k).padStart(7, '0')}`;
  return count + 1 < 128 ? 'v00000' : 'v0000';
}

/**
 * The columns of `sortedNumbersQuery` with their refused values (±Infinity) counted and the first
 * one's row, for a file that has one: each cell a row, grouped by the column's position. Position 1
 * is the row marker (its count is the row count); null and NaN are missing.
 */
export function numbersQuery(format: FileFormat, columns: readonly FileColumn[]): string {
  const values = columns.map((c) => `toFloat64(${identifier(c.name)})`).join(', ');
  return `SELECT arraySort(groupArrayIf(v, isFinite(v))) AS values, toUInt64(i) AS position,
      countIf(isInfinite(v)) AS bad, toUInt64(ifNull(minIf(r, isInfinite(v)), 0)) AS bad_row, count() AS n
    FROM (SELECT _row_number AS r, [toFloat64(0)${values === '' ? '' : `, ${values}`}] AS vs FROM ${fileFunction(format)})
    ARRAY JOIN vs AS v, arrayEnumerate(vs) AS i
    WHERE isNotNull(v) AND NOT isNaN(v)
    GROUP BY i
    SETTINGS group_by_two_level_threshold = 1, group_by_two_level_threshold_bytes = 1`;
}

/**
 * A Parquet file's rows for the row reader (`parquet-rows.ts`), one JSON array a row, in the file's
 * order: each column as `parquetCell` takes it (numbers as Float64, booleans as booleans, anything
 * else as its text), and the timestamp column, when it is a date or time, as ISO-8601 UTC text
 * (`parseTime` reads it as it reads that text in CSV). ±Infinity and NaN come as the texts `inf`,
 * `-inf` and `nan` (JSON has no literal for them); the reader tells them apart from text by the
 * column's type.
 */
export function parquetRowsQuery(columns: readonly FileColumn[], timestampColumn: string): string {
  const values = columns.map((c) => {
    const x = identifier(c.name);
    if (NUMERIC_TYPE.test(c.type)) return `toFloat64(${x})`;
    if (BOOL_TYPE.test(c.type)) return x;
    if (c.name === timestampColumn && TIME_TYPE.test(c.type))
      return `concat(replaceOne(toString(toDateTime64(${x}, 3, 'UTC')), ' ', 'T'), 'Z')`;
    return `toString(${x})`;
  });
  return `INSERT INTO FUNCTION file({out:String}, 'JSONCompactEachRow')
    SELECT ${values.join(', ')} FROM ${fileFunction('parquet')}
    SETTINGS input_format_parquet_preserve_order = 1, output_format_json_quote_denormals = 1, engine_file_truncate_on_insert = 1`;
}
