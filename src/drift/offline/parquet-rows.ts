/**
 * Rows of a Parquet file, for bucketing by time (`--timestamp-column`), which needs each row's
 * time beside its values. The engine reads the file (the wanted columns and the timestamp only)
 * into a temporary JSON-lines file in the file's order (`parquetRowsQuery`), read back here a
 * line at a time: a file larger than memory is bucketed as a CSV one is, in the disk space of its
 * rows as JSON. Values are the whole-file read's (`parquetCell`): NaN and null missing, ±Infinity
 * and a text or boolean score refused with the same message.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { randomUUID } from 'node:crypto';
import type { Database } from '../../platform/clickhouse/index.js';
import { ModelwatchError } from '../../platform/errors.js';
import {
  DEFAULT_MAX_MEMORY_BYTES,
  describeFile,
  firstLine,
  offlineDatabase,
  watchProgress,
} from './file-read.js';
import { NUMERIC_TYPE, parquetRowsQuery, READ_SETTINGS, type FileColumn } from './file-sql.js';
import { assertReadable, type FileRow } from './read-rows.js';

export interface ParquetRowOptions {
  timestampColumn: string;
  /** Only these columns besides the timestamp (a value refused in another is not looked at). */
  columns?: readonly string[] | undefined;
  /** @default DEFAULT_MAX_MEMORY_BYTES */
  maxMemoryBytes?: number | undefined;
  /** Called now and then with the share of the file read (0..1). */
  progress?: ((share: number) => void) | undefined;
  /** @default the offline engine */
  db?: Database | undefined;
}

export async function* parquetRows(file: string, options: ParquetRowOptions): AsyncGenerator<FileRow> {
  const name = path.basename(file);
  await assertReadable(file);
  const engine = options.db ?? (await offlineDatabase());
  const columns = await rowColumns(engine, file, options);
  const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-parquet-rows-'));
  try {
    const rows = path.join(dir, 'rows.jsonl');
    await writeRows(engine, file, rows, columns, options);
    yield* convertedRows(rows, name, columns, options.timestampColumn);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rowColumns(engine: Database, file: string, options: ParquetRowOptions): Promise<FileColumn[]> {
  const name = path.basename(file);
  let described: FileColumn[];
  try {
    described = await describeFile(engine, file, 'parquet');
  } catch (err) {
    throw new ModelwatchError('BAD_REQUEST', `${name}: cannot read it as PARQUET (${firstLine(err)})`);
  }
  const { timestampColumn, columns } = options;
  if (!described.some((c) => c.name === timestampColumn))
    throw new ModelwatchError('BAD_REQUEST', `${name}: has no '${timestampColumn}' (the --timestamp-column)`);
  return described.filter(
    (c) => c.name === timestampColumn || columns === undefined || columns.includes(c.name),
  );
}

async function writeRows(
  engine: Database,
  file: string,
  out: string,
  columns: readonly FileColumn[],
  options: ParquetRowOptions,
): Promise<void> {
  const queryId = randomUUID();
  const stop = options.progress
    ? watchProgress(engine, queryId, (await stat(file)).size, options.progress)
    : () => undefined;
  try {
    await engine.client.command({
      query: parquetRowsQuery(columns, options.timestampColumn),
      query_params: { path: file, out },
      query_id: queryId,
      clickhouse_settings: {
        ...READ_SETTINGS,
        max_memory_usage: String(options.maxMemoryBytes ?? DEFAULT_MAX_MEMORY_BYTES),
      },
    });
  } catch (err) {
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${path.basename(file)}: cannot read it as PARQUET (${firstLine(err)})`,
    );
  } finally {
    stop();
  }
}

async function* convertedRows(
  rows: string,
  name: string,
  columns: readonly FileColumn[],
  timestampColumn: string,
): AsyncGenerator<FileRow> {
  const numeric = columns.map((c) => NUMERIC_TYPE.test(c.type));
  let row = 0;
  for await (const line of createInterface({ input: createReadStream(rows), crlfDelay: Infinity })) {
    row++;
    const values = JSON.parse(line) as unknown[];
    const cells = columns.map((c, k) => {
      const value = numeric[k] ? numberOf(values[k]) : values[k];
      // The timestamp is no value: `parseTime` says what is wrong with it.
      if (c.name !== timestampColumn && refused(c.name, value))
        throw new ModelwatchError(
          'BAD_REQUEST',
          `${name}: row ${row}, column '${c.name}': the value is not allowed (a non-finite number, or a text score)`,
        );
      return [c.name, value] as const;
    });
    // fromEntries: a column named `__proto__` stays a column.
    yield { row: Object.fromEntries(cells), where: `${name} row ${row}` };
  }
}

/** A number column's JSON value: NaN (`nan`, `-nan`) is missing, as in the whole-file read. */
function numberOf(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (value.endsWith('nan')) return null;
  return value.startsWith('-') ? -Infinity : Infinity;
}

/** The values the whole-file read refuses (`parquetCell`): ±Infinity, and a score that is not a number. */
function refused(column: string, value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  return column === 'score' && value !== null;
}
