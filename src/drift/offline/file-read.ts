/**
 * Reads a whole file into raw columns with the embedded engine (see `file-sql.ts`): the file is
 * streamed by the engine's parallel readers and only the per-column results (sorted numbers,
 * text counts) reach JavaScript. Progress comes from the engine's own counters.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../platform/clickhouse/index.js';
import type { ClickHouseConfig } from '../../platform/config/index.js';
import { ModelwatchError } from '../../platform/errors.js';
import type { ColumnRole, RawColumn } from '../engine/types.js';
import { execNative, parseNative } from '../store/native.js';
import {
  columnsQuery,
  NUMERIC_TYPE,
  numbersQuery,
  READ_SETTINGS,
  sortedColumnName,
  sortedNumbersQuery,
  type FileColumn,
  type FileFormat,
} from './file-sql.js';

export interface FileColumns {
  rows: number;
  columns: RawColumn[];
  /** The first value the row rules refuse, if any (0-based data row). */
  bad: { column: string; row: number } | undefined;
}

export interface FileReadOptions {
  /** Only these column names (the row marker is always read). */
  wanted?: readonly string[] | undefined;
  /** A column not read at all (the `--timestamp-column`: a time, not a feature). */
  skip?: string | undefined;
  /**
   * Memory the engine may use for one file's values (the sorted numbers are 8 bytes each); a file
   * whose selected values need more is a clear error, not an out-of-memory crash.
   * @default 4 GiB
   */
  maxMemoryBytes?: number | undefined;
  /** Called now and then with the share of the file read (0..1). */
  progress?: ((share: number) => void) | undefined;
}

export const DEFAULT_MAX_MEMORY_BYTES = 4 * 1024 ** 3;
const MEMORY_LIMIT_EXCEEDED = 241;
/** Rows of a CSV file its column types are inferred from. @default 1000 */
const INFERENCE_ROWS = 1000;

/** The process's one engine and the temporary directory it lives in. */
let shared: { db: Promise<Database>; dir: string } | undefined;

/** One engine per process (chdb holds one), in a temporary directory removed at exit. */
export function offlineDatabase(): Promise<Database> {
  if (!shared) {
    const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-drift-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    // Always the embedded engine in its own directory, so the service's configuration (and zod,
    // ~100 modules, ~0.1 CPU s to load and build) is not read.
    const config: ClickHouseConfig = {
      url: undefined,
      cluster: undefined,
      database: 'offline',
      dataDir: dir,
    };
    // Three connections: the two files are read at once, and the progress poll needs one besides.
    shared = { db: openDatabase(config, { connections: 3 }), dir };
  }
  return shared.db;
}

/**
 * Closes the engine and removes its directory now, for a process that ends without an `exit`
 * event (a test worker is killed); the engine cannot be opened again in the same process.
 */
export async function closeOfflineDatabase(): Promise<void> {
  if (!shared) return;
  await (await shared.db).close();
  rmSync(shared.dir, { recursive: true, force: true });
}

/** An engine error's first line, for a one-line message. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}

/** A CSV or Parquet file's columns and the types the engine infers for them. */
export async function describeFile(db: Database, file: string, format: FileFormat): Promise<FileColumn[]> {
  const name = format === 'csv' ? 'CSVWithNames' : 'Parquet';
  const result = await db.client.query({
    query: `DESCRIBE file({path:String}, '${name}')`,
    query_params: { path: file },
    format: 'JSONEachRow',
    // Inference on (every setting explicit: the embedded engine keeps a query's settings for the next).
    clickhouse_settings: {
      ...READ_SETTINGS,
      input_format_csv_use_best_effort_in_schema_inference: 1,
      schema_inference_make_columns_nullable: 1,
      // Blank lines (a file ending in one) are not rows of fewer columns; the reads skip them.
      input_format_csv_allow_variable_number_of_columns: 1,
      // The types come from the first rows only: a text cell further down makes the whole file be
      // read again as text (below), so a shorter look is never wrong, at most slower on such a file.
      // Measured on 20 columns × 100k rows: 0.114 CPU s a file with the default 25,000 rows, 0.007 with these.
      input_format_max_rows_to_read_for_schema_inference: String(INFERENCE_ROWS),
    },
  });
  return (await result.json<{ name: string; type: string }>()).map((r) => ({ name: r.name, type: r.type }));
}

/** Polls the engine's counters for the running query until the returned function is called. */
export function watchProgress(
  db: Database,
  queryId: string,
  totalBytes: number,
  progress: (share: number) => void,
): () => void {
  let stopped = false;
  // The pending wait is cancelled on stop: left to run out, it held the process open up to 250 ms
  // after a short run had printed its result (a quarter of a 20-column CSV run's wall time).
  let wake: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  const pause = () =>
    new Promise<void>((resolve) => {
      wake = { timer: setTimeout(resolve, 250), resolve };
    });
  const tick = async () => {
    while (!stopped) {
      await pause();
      if (stopped) return;
      try {
        const result = await db.client.query({
          query: `SELECT read_bytes FROM system.processes WHERE query_id = {id:String}`,
          query_params: { id: queryId },
          format: 'JSONEachRow',
        });
        const [row] = await result.json<{ read_bytes: number }>();
        if (row && !stopped) progress(Math.min(1, Number(row.read_bytes) / Math.max(1, totalBytes)));
      } catch {
        return; // progress is a courtesy: never fail a run over it
      }
    }
  };
  void tick();
  return () => {
    stopped = true;
    if (wake) {
      clearTimeout(wake.timer);
      wake.resolve();
    }
  };
}

/** The engine's row number in `file()` reads (`file-sql.ts`). */
const ROW_NUMBER = '_row_number';

export async function readFileColumns(
  file: string,
  format: FileFormat,
  options: FileReadOptions = {},
  db?: Database,
): Promise<FileColumns> {
  const engine = db ?? (await offlineDatabase());
  const wanted = options.wanted;
  const described = format === 'jsonl' ? [] : await describeFile(engine, file, format);
  // The reads number rows by the engine's virtual column, which a column of the file's own name hides:
  // its text values failed the read as if the file were broken ("Cannot parse UInt64 from String").
  if (described.some((c) => c.name === ROW_NUMBER))
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${path.basename(file)}: a column is named '${ROW_NUMBER}', the name the engine numbers rows by: rename it`,
    );
  // Only the wanted columns are read at all: a large file with a few wanted columns streams in little memory.
  const columns = described.filter(
    (c) => (wanted === undefined || wanted.includes(c.name)) && c.name !== options.skip,
  );
  const read = (numeric: FileColumn[], other: FileColumn[], structure: FileColumn[]) =>
    readParts(engine, file, format, { numeric, other, structure }, options);
  if (format === 'jsonl') return read([], [], []);
  const numeric = columns.filter((c) => NUMERIC_TYPE.test(c.type));
  const other = columns.filter((c) => !NUMERIC_TYPE.test(c.type));
  if (format === 'parquet') return read(numeric, other, []);
  const asText = described.map((c) => ({ name: c.name, type: 'String' }));
  // Number columns as Float64 (the engine parses decimal text to the nearest double either way, so
  // an integer column's values are the same as its inferred Int64 ones made Float64).
  const typed = described.map((c) => ({
    name: c.name,
    type: NUMERIC_TYPE.test(c.type) ? 'Nullable(Float64)' : 'String',
  }));
  try {
    return await read(
      numeric.map((c) => ({ name: c.name, type: 'Nullable(Float64)' })),
      other,
      typed,
    );
  } catch (err) {
    // The engine infers CSV types from the first rows; a text cell further down is a parse error: read all cells as text then.
    if (err instanceof ModelwatchError || numeric.length === 0) throw err;
    return read(
      [],
      [...numeric, ...other].map((c) => ({ name: c.name, type: 'String' })),
      asText,
    );
  }
}

interface Parts {
  /** Columns read as numbers (the fast path). */
  numeric: FileColumn[];
  /** Columns read by the row rules, cell by cell. */
  other: FileColumn[];
  /** CSV: every column of the file with the type to read it as. */
  structure: FileColumn[];
}

async function readParts(
  engine: Database,
  file: string,
  format: FileFormat,
  parts: Parts,
  options: FileReadOptions,
): Promise<FileColumns> {
  const structure = parts.structure
    .map((c) => `\`${c.name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\` ${c.type}`)
    .join(', ');
  const params = { path: file, structure: structure === '' ? undefined : structure };
  const out: FileColumns =
    parts.numeric.length > 0
      ? await readNumbers(engine, file, format, parts.numeric, params, options)
      : { rows: 0, columns: [], bad: undefined };
  if (parts.other.length > 0 || parts.numeric.length === 0) {
    const names = parts.other.map((c) => c.name);
    const rest = collectColumns(
      await run(
        engine,
        file,
        columnsQuery(format, parts.other, {
          wanted: options.wanted !== undefined,
          skip: options.skip !== undefined,
        }),
        { ...params, names, wanted: options.wanted, skip: options.skip },
        options,
      ),
    );
    if (parts.numeric.length === 0) out.rows = rest.rows;
    // Not push(...): an argument per column overflows the stack past ~100,000 columns.
    for (const column of rest.columns) out.columns.push(column);
    if (rest.bad !== undefined && (out.bad === undefined || rest.bad.row < out.bad.row)) out.bad = rest.bad;
  }
  return out;
}

/**
 * Number columns a file may have for `sortedNumbersQuery`, whose cost per column grows with their
 * number (a file of 30 rows, CPU s against `numbersQuery`: 500 columns 0.13 / 0.09, 1,000 0.36 /
 * 0.21, 2,000 0.92 / 0.36), while it saves ~30 ns a value (100 columns × 100k rows).
 */
const SORTED_QUERY_MAX_COLUMNS = 256;

/** Columns the engine reads as numbers, sorted; a file holding ±Infinity is read again for the first one's row. */
async function readNumbers(
  engine: Database,
  file: string,
  format: FileFormat,
  numeric: FileColumn[],
  params: Record<string, unknown>,
  options: FileReadOptions,
): Promise<FileColumns> {
  if (numeric.length <= SORTED_QUERY_MAX_COLUMNS) {
    const [sorted] = await run(engine, file, sortedNumbersQuery(format, numeric), params, options);
    const columns: RawColumn[] = [];
    let refused = false;
    for (const [k, { name }] of numeric.entries()) {
      const numbers = finiteEnd(sorted![sortedColumnName(k, numeric.length)] as Float64Array);
      // ±Infinity sorts to an end of its column.
      refused ||= numbers[0] === -Infinity || numbers[numbers.length - 1] === Infinity;
      if (numbers.length > 0) columns.push({ role: roleOf(name), column: name, numbers, texts: new Map() });
    }
    if (!refused) return { rows: Number(sorted!['n']), columns, bad: undefined };
  }
  // A wide file, or one with a refused value (whose row this query finds).
  const out: FileColumns = { rows: 0, columns: [], bad: undefined };
  for (const row of await run(engine, file, numbersQuery(format, numeric), params, options)) {
    const position = Number(row['position']);
    if (position === 1) out.rows = Number(row['n']);
    const column = position === 1 ? '' : numeric[position - 2]!.name;
    if (Number(row['bad']) > 0 && (out.bad === undefined || Number(row['bad_row']) < out.bad.row))
      out.bad = { column, row: Number(row['bad_row']) };
    const numbers = row['values'] as Float64Array;
    if (position > 1 && numbers.length > 0)
      out.columns.push({ role: roleOf(column), column, numbers, texts: new Map() });
  }
  return out;
}

/** Sorted values without the NaN the engine sorts last (missing values, as in every reader). */
export function finiteEnd(sorted: Float64Array): Float64Array {
  let end = sorted.length;
  while (end > 0 && Number.isNaN(sorted[end - 1])) end--;
  return end === sorted.length ? sorted : sorted.subarray(0, end);
}

function roleOf(name: string): ColumnRole {
  return name === 'prediction' || name === 'score' || name === 'label' ? name : 'feature';
}

async function run(
  engine: Database,
  file: string,
  query: string,
  params: Record<string, unknown>,
  options: FileReadOptions,
): Promise<ReturnType<typeof parseNative>> {
  const name = path.basename(file);
  const queryId = randomUUID();
  const limit = options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES;
  const stop = options.progress
    ? watchProgress(engine, queryId, (await stat(file)).size, options.progress)
    : () => undefined;
  try {
    return parseNative(
      await execNative(engine, query, params, {
        queryId,
        settings: { ...READ_SETTINGS, max_memory_usage: String(limit) },
      }),
    );
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === String(MEMORY_LIMIT_EXCEEDED) || code === MEMORY_LIMIT_EXCEEDED) {
      throw new ModelwatchError(
        'BAD_REQUEST',
        `${name}: its values need more than the ${Math.round(limit / 1024 ** 2)} MiB allowed (--max-memory); choose fewer columns (--columns) or a sample of the rows`,
      );
    }
    throw err;
  } finally {
    stop();
  }
}

function collectColumns(rows: ReturnType<typeof parseNative>): FileColumns {
  let count = 0;
  let bad: FileColumns['bad'];
  const columns: RawColumn[] = [];
  for (const row of rows) {
    const column = String(row['column']);
    const badCount = Number(row['bad']);
    if (badCount > 0 && (bad === undefined || Number(row['bad_row']) < bad.row))
      bad = { column, row: Number(row['bad_row']) };
    if (row['role'] === '') {
      count += Number(row['rows']);
      continue;
    }
    const texts = row['texts'] as string[];
    const counts = row['counts'] as number[];
    const numbers = row['values'] as Float64Array;
    if (numbers.length === 0 && texts.length === 0) continue;
    columns.push({
      role: String(row['role']) as ColumnRole,
      column,
      numbers,
      texts: new Map(texts.map((t, k) => [t, counts[k] ?? 0])),
    });
  }
  return { rows: count, columns, bad };
}
