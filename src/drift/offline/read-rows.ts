/**
 * Rows of a CSV or JSONL file (by extension), for the offline CLI (Parquet: parquet-rows.ts). CSV cells are typed the way
 * pandas writes them: an empty cell, `NaN`, `nan`, `null` or `\N` is missing (null); a decimal
 * number is a number; anything else is text. Spaces and tabs around an unquoted cell are not part of
 * it (as the engine reads CSV). Infinity (`inf`, `Infinity`, or an overflowing literal) is
 * rejected, as the API rejects it.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ModelwatchError } from '../../platform/errors.js';

export interface FileRow {
  row: Record<string, unknown>;
  /** `file:line`, for messages. */
  where: string;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MISSING = new Set(['', 'NaN', 'nan', 'NAN', 'null', 'NULL', '\\N']);
const INFINITE = /^[+-]?(inf|infinity)$/i;

export function castCell(value: string, where: string): unknown {
  if (MISSING.has(value)) return null;
  if (INFINITE.test(value))
    throw new ModelwatchError('BAD_REQUEST', `${where}: '${value}' is not a finite number`);
  if (!NUMBER.test(value)) return value;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new ModelwatchError('BAD_REQUEST', `${where}: '${value}' is not a finite number`);
  return n;
}

export function fileFormat(file: string): 'csv' | 'jsonl' | 'parquet' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new ModelwatchError(
    'BAD_REQUEST',
    `${file}: unknown file type '${ext || '(none)'}'; use .csv, .jsonl or .ndjson, or .parquet`,
  );
}

const errorCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

/** A regular file that exists; a clear error otherwise. */
export async function assertReadable(file: string): Promise<void> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new ModelwatchError('BAD_REQUEST', `${file}: not a file`);
    if (fileFormat(file) !== 'parquet') await assertText(file);
  } catch (err) {
    if (err instanceof ModelwatchError) throw err;
    throw new ModelwatchError('BAD_REQUEST', `${file}: cannot read it (${errorCode(err)})`);
  }
}

/** Files whose first bytes say they are not text, by those bytes (`file(1)`'s magic numbers). */
const NOT_TEXT: readonly [Buffer, string][] = [
  [Buffer.from([0x1f, 0x8b]), 'like gzip-compressed data: decompress it first'],
  [Buffer.from('PAR1'), 'like a Parquet file: name it .parquet'],
  [Buffer.from([0x50, 0x4b, 0x03, 0x04]), 'like a zip archive: extract it first'],
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'like zstd-compressed data: decompress it first'],
];

/** A CSV or JSONL file that is plainly something else is named so, not read as text. */
async function assertText(file: string): Promise<void> {
  const handle = await open(file);
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    const what = NOT_TEXT.find(
      ([magic]) => bytesRead >= magic.length && head.subarray(0, magic.length).equals(magic),
    );
    if (what)
      throw new ModelwatchError(
        'BAD_REQUEST',
        `${path.basename(file)}: not ${fileFormat(file).toUpperCase()}, it looks ${what[1]}`,
      );
  } finally {
    await handle.close();
  }
}

/**
 * Whether a CSV file's quotes pair up. The engine's CSV reader takes a quote that is never closed
 * as a cell running to the end of the file (one row, no error); the row reader refuses such a file.
 * A scan for one byte, beside the engine's read.
 */
export async function csvQuotesBalanced(file: string): Promise<boolean> {
  const handle = await open(file);
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let odd = false;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) return !odd;
      const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
      for (let at = chunk.indexOf(0x22); at !== -1; at = chunk.indexOf(0x22, at + 1)) odd = !odd;
    }
  } finally {
    await handle.close();
  }
}

export async function* readRows(file: string): AsyncGenerator<FileRow> {
  const format = fileFormat(file);
  // Its rows come from the engine (parquet-rows.ts).
  if (format === 'parquet')
    throw new Error(`${path.basename(file)}: read a Parquet file's rows with parquetRows`);
  await assertReadable(file);
  const name = path.basename(file);
  if (format === 'jsonl') {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let line = 0;
    for await (const read of lines) {
      line++;
      // A byte-order mark, as the engine's reader (the other mode) and the CSV reader skip it.
      const text = line === 1 && read.charCodeAt(0) === 0xfeff ? read.slice(1) : read;
      if (text.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(text);
      } catch {
        throw new ModelwatchError('BAD_REQUEST', `${name}:${line}: not valid JSON`);
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row))
        throw new ModelwatchError('BAD_REQUEST', `${name}:${line}: expected a JSON object`);
      yield { row: row as Record<string, unknown>, where: `${name}:${line}` };
    }
    return;
  }
  // Loaded only here: the engine reads the files, and this reader runs for buckets and bad rows only.
  const { parse } = await import('csv-parse');
  const source = createReadStream(file);
  const parser = source.pipe(
    parse({
      // A name twice would keep only the last column's values here (the engine refuses such a file).
      columns: (header: string[]) => uniqueHeader(header, name),
      bom: true,
      skip_empty_lines: true,
      trim: true,
      info: true,
      cast: (value, context) =>
        context.header ? value : castCell(value, `${name}:${context.lines}.${String(context.column)}`),
    }),
  );
  // `pipe` does not pass on the file's errors (a file unreadable by this user): the parser ends with them.
  source.once('error', (err) =>
    parser.destroy(new ModelwatchError('BAD_REQUEST', `${name}: cannot read it (${errorCode(err)})`)),
  );
  try {
    for await (const record of parser as AsyncIterable<{
      record: Record<string, unknown>;
      info: { lines: number };
    }>) {
      yield { row: record.record, where: `${name}:${record.info.lines}` };
    }
  } catch (err) {
    if (err instanceof ModelwatchError) throw err;
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${name}: not valid CSV (${err instanceof Error ? err.message : String(err)})`,
    );
  }
}

/** The header's names, a name twice refused; a column without a name (pandas' unnamed index) is skipped, as the engine's reader skips it. */
function uniqueHeader(header: string[], name: string): (string | false)[] {
  const seen = new Set<string>();
  for (const column of header) {
    if (seen.has(column) && column !== '')
      throw new ModelwatchError('BAD_REQUEST', `${name}: the column '${column}' appears twice in the header`);
    seen.add(column);
  }
  return header.map((column) => (column === '' ? false : column));
}
