/**
 * `modelwatch drift`: drift between two files, with the service's engine (the same reference
 * summary, column plans, statistics and dataset-drift rule), the windows built in memory.
 */
import path from 'node:path';
import { ModelwatchError } from '../../platform/errors.js';
import { evaluateWindow, planColumns, type ColumnPlan } from '../engine/evaluate.js';
import { referenceFromRaw, windowFromRaw } from '../engine/in-memory.js';
import { RowError, SampleBuilder } from '../engine/samples.js';
import { driftSettings } from '../engine/settings-core.js';
import {
  columnKey,
  type ColumnRole,
  type DriftBucket,
  type RawColumn,
  type Reference,
  type WindowSample,
} from '../engine/types.js';
import { UsageError } from '../../platform/cli/index.js';
import {
  bucketEnd,
  bucketStart,
  MAX_BUCKETS,
  parseBucket,
  parseTime,
  type Bucket,
} from '../../platform/time/index.js';
import type { MethodOption } from '../statistics/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { firstLine, readFileColumns, type FileColumns } from './file-read.js';
import { parquetRows } from './parquet-rows.js';
import { assertReadable, csvQuotesBalanced, fileFormat, readRows, type FileRow } from './read-rows.js';

export interface OfflineDriftOptions {
  reference: string;
  current: string;
  /** Only these columns (names as in the files). */
  columns?: string[] | undefined;
  timestampColumn?: string | undefined;
  bucket?: string | undefined;
  method?: MethodOption | undefined;
  /** Progress messages (the CLI sends them to stderr). */
  progress?: (message: string) => void;
  /** Memory the engine may use for one file's values. @default 4 GiB (see `readFileColumns`) */
  maxMemoryBytes?: number | undefined;
  /** The engine to read files with. @default one temporary engine per process */
  db?: Database | undefined;
  /** What the report leaves out and a reader would not see (the CLI prints it to stderr). */
  warn?: ((message: string) => void) | undefined;
  /** Told the column plans and every evaluated window (the HTML report draws their distributions). */
  onWindows?: ((windows: EvaluatedWindows) => void) | undefined;
}

export interface EvaluatedWindows {
  plans: readonly ColumnPlan[];
  windows: readonly WindowSample[];
  datasetDriftShare: number;
}

/** The drift route's response shape, for files; a bucket's start and end are null when the file has no timestamps. */
export interface OfflineDriftReport {
  model_id: string;
  version: string;
  reference: { source: 'rows'; file: string; rows: number };
  current: { file: string; rows: number };
  buckets: (Omit<DriftBucket, 'start' | 'end'> & { start: string | null; end: string | null })[];
}

const PROGRESS_EVERY = 100_000;

async function collect(
  file: string,
  options: OfflineDriftOptions,
  builderFor: (row: Record<string, unknown>, where: string) => SampleBuilder,
): Promise<number> {
  const name = path.basename(file);
  let rows = 0;
  for await (const { row, where } of fileRows(file, options)) {
    rows++;
    if (rows % PROGRESS_EVERY === 0) options.progress?.(`reading ${name}: ${rows} rows`);
    try {
      builderFor(row, where).addRow(row, where);
    } catch (err) {
      if (err instanceof RowError) throw new ModelwatchError('BAD_REQUEST', err.message);
      throw err;
    }
  }
  if (rows === 0) throw new ModelwatchError('BAD_REQUEST', `${name}: no rows`);
  return rows;
}

/** A file's rows: a Parquet file's through the engine (bucketing by time is the only row-wise read of one). */
function fileRows(file: string, options: OfflineDriftOptions): AsyncGenerator<FileRow> {
  const { timestampColumn } = options;
  if (fileFormat(file) !== 'parquet' || timestampColumn === undefined) return readRows(file);
  const name = path.basename(file);
  return parquetRows(file, {
    timestampColumn,
    columns: options.columns,
    maxMemoryBytes: options.maxMemoryBytes,
    db: options.db,
    progress: options.progress ? (share) => options.progress?.(`reading ${name} ${bar(share)}`) : undefined,
  });
}

/**
 * A file read by the engine (the timestamp column left out: a time, not a feature). A value the
 * row rules refuse is reported by re-reading the file in JavaScript, which stops at the first bad
 * row with its exact `file:line.column` message.
 */
async function engineRead(
  file: string,
  options: OfflineDriftOptions,
  keep: (column: string, role: ColumnRole) => boolean,
): Promise<FileColumns> {
  const name = path.basename(file);
  const format = fileFormat(file);
  await assertReadable(file);
  const describeBad = async (fallback: string): Promise<never> => {
    if (format !== 'parquet') await collect(file, options, () => new SampleBuilder(keep));
    throw new ModelwatchError('BAD_REQUEST', fallback);
  };
  // Never rejects: a file that cannot be read fails the engine's read, with its own message.
  const quotesBalanced = format === 'csv' ? csvQuotesBalanced(file).catch(() => true) : true;
  let read: FileColumns;
  try {
    read = await readFileColumns(
      file,
      format,
      {
        wanted: options.columns,
        skip: options.timestampColumn,
        maxMemoryBytes: options.maxMemoryBytes,
        progress: options.progress
          ? (share) => options.progress?.(`reading ${name} ${bar(share)}`)
          : undefined,
      },
      options.db,
    );
  } catch (err) {
    if (err instanceof ModelwatchError) throw err;
    return describeBad(`${name}: cannot read it as ${format.toUpperCase()} (${firstLine(err)})`);
  }
  if (read.bad !== undefined)
    return describeBad(
      `${name}: row ${read.bad.row + 1}, column '${read.bad.column}': the value is not allowed (a non-finite number, or a text score)`,
    );
  if (!(await quotesBalanced)) return describeBad(`${name}: not valid CSV (a quoted cell is never closed)`);
  if (read.rows === 0) throw new ModelwatchError('BAD_REQUEST', `${name}: no rows`);
  return read;
}

/** A text progress bar: `[#####.....]  50%`. */
export function bar(share: number): string {
  const filled = Math.round(share * 20);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${String(Math.round(share * 100)).padStart(3)}%`;
}

export async function runOfflineDrift(options: OfflineDriftOptions): Promise<OfflineDriftReport> {
  const window = options.bucket === undefined ? undefined : parseBucket(options.bucket);
  if (options.bucket !== undefined && window === undefined)
    throw new ModelwatchError(
      'BAD_REQUEST',
      `--bucket: '${options.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d)`,
    );
  if (window && !options.timestampColumn)
    throw new ModelwatchError('BAD_REQUEST', '--bucket needs --timestamp-column');
  if (options.timestampColumn === undefined) return runWholeFiles(options);
  return runBucketed(options, options.timestampColumn, window);
}

/** The reference as both modes read it: by the engine, every column (or the `--columns`) checked to hold values. */
function offlineReference(options: OfflineDriftOptions, read: FileColumns): Reference {
  const reference = referenceFromRaw(
    {
      modelId: 'offline',
      version: 'offline',
      revision: 0,
      source: 'rows',
      from: null,
      to: null,
      rows: read.rows,
      setAt: Date.now(),
    },
    read.columns,
  );
  for (const column of options.columns ?? []) {
    if (!reference.columns.some((c) => c.column === column))
      throw new ModelwatchError(
        'BAD_REQUEST',
        `--columns: '${column}' has no values in ${path.basename(options.reference)}`,
      );
  }
  if (reference.columns.length === 0)
    throw new ModelwatchError('BAD_REQUEST', `${path.basename(options.reference)}: no column holds a value`);
  return reference;
}

interface TimeBucket {
  builder: SampleBuilder;
  first: number;
  last: number;
}

/** Buckets by the current file's timestamps (one bucket for the whole file without `--bucket`). */
async function runBucketed(
  options: OfflineDriftOptions,
  timestampColumn: string,
  window: Bucket | undefined,
): Promise<OfflineDriftReport> {
  const wanted = options.columns ? new Set(options.columns) : undefined;
  const keep = (column: string, role: ColumnRole) =>
    column !== timestampColumn &&
    (wanted === undefined || wanted.has(column) || (role !== 'feature' && wanted.has(role)));
  const ref = await engineRead(options.reference, options, keep);
  const reference = offlineReference(options, ref);

  const buckets = new Map<number, TimeBucket>();
  let epochNumbersOnly = true;
  const timestampOf = (row: Record<string, unknown>, where: string): number => {
    const value = row[timestampColumn];
    if (!(timestampColumn in row))
      throw new ModelwatchError(
        'BAD_REQUEST',
        `${where}: has no '${timestampColumn}' (the --timestamp-column)`,
      );
    const ms = typeof value === 'string' || typeof value === 'number' ? parseTime(value) : undefined;
    if (typeof value !== 'number') epochNumbersOnly = false;
    if (ms === undefined)
      throw new ModelwatchError(
        'BAD_REQUEST',
        `${where}.${timestampColumn}: '${String(value)}' is not an ISO-8601 time or epoch milliseconds`,
      );
    return ms;
  };
  const currentRows = await collect(options.current, options, (row, where) => {
    const ms = timestampOf(row, where);
    const key = window ? bucketStart(window, ms) : 0;
    let bucket = buckets.get(key);
    if (!bucket) {
      // As the drift route: a file of years in minutes would be a million windows, and a report no one reads.
      if (buckets.size >= MAX_BUCKETS)
        throw new UsageError(
          `--bucket: ${path.basename(options.current)} spans more than ${MAX_BUCKETS} buckets of '${options.bucket}' (at most ${MAX_BUCKETS}, as the drift route); choose a larger --bucket`,
        );
      buckets.set(key, (bucket = { builder: new SampleBuilder(keep), first: ms, last: ms }));
    }
    bucket.first = Math.min(bucket.first, ms);
    bucket.last = Math.max(bucket.last, ms);
    return bucket.builder;
  });

  // A loop, not Math.max(...): spreading one argument per bucket overflows the stack.
  let latest = -Infinity;
  for (const bucket of buckets.values()) latest = Math.max(latest, bucket.last);
  if (epochNumbersOnly && latest < EPOCH_SECONDS_LOOK)
    options.warn?.(
      `${path.basename(options.current)}: every '${timestampColumn}' is an epoch number before 1973 read as milliseconds; if they are seconds, multiply them by 1,000`,
    );
  const settings = driftSettings(options.method === undefined ? {} : { method: options.method });
  const plans = planColumns(reference, settings, options.method);
  const out: OfflineDriftReport['buckets'] = [];
  const samples: WindowSample[] = [];
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  for (const [k, key] of keys.entries()) {
    if (keys.length > 1) options.progress?.(`bucket ${k + 1}/${keys.length}`);
    const { builder, first, last } = buckets.get(key)!;
    // Without a bucket, the one bucket spans the file's timestamps.
    const start = window ? key : first;
    const end = window ? bucketEnd(window, key) : last + 1;
    const sample = windowFromRaw(plans, builder.build(), { start, end, count: builder.rows });
    if (options.onWindows) samples.push(sample);
    out.push(evaluateWindow(plans, sample, settings.datasetDriftShare));
  }
  options.onWindows?.({ plans, windows: samples, datasetDriftShare: settings.datasetDriftShare });
  return {
    model_id: 'offline',
    version: 'offline',
    reference: { source: 'rows', file: path.basename(options.reference), rows: ref.rows },
    current: { file: path.basename(options.current), rows: currentRows },
    buckets: out,
  };
}

/** Epoch milliseconds all below this (1973) are most likely epoch seconds (today's are ~1.8e9 s). */
const EPOCH_SECONDS_LOOK = Date.UTC(1973, 0, 1);

/** Without buckets: both files read by the engine, one window holding the whole current file. */
async function runWholeFiles(options: OfflineDriftOptions): Promise<OfflineDriftReport> {
  const wanted = options.columns ? new Set(options.columns) : undefined;
  const keep = (column: string) => wanted === undefined || wanted.has(column);
  // Both files at once, on two engine connections: one's single-threaded steps (the sort of the
  // gathered values, writing and reading the result) overlap the other's, and the reference is
  // summarized while the current file is read. Errors still come in the order of a read one after
  // the other: the reference's, then the columns', then the current file's.
  const refRead = engineRead(options.reference, options, keep);
  const curRead = engineRead(options.current, options, keep);
  curRead.catch(() => undefined); // awaited below, unless the reference fails first
  const ref = await refRead;
  const reference = offlineReference(options, ref);
  const cur = await curRead;
  const settings = driftSettings(options.method === undefined ? {} : { method: options.method });
  const plans = planColumns(reference, settings, options.method);
  options.progress?.('computing');
  for (const message of leftOut(plans, cur.columns, path.basename(options.current))) options.warn?.(message);
  const sample = windowFromRaw(plans, cur.columns, { start: 0, end: 0, count: cur.rows });
  const bucket = evaluateWindow(plans, sample, settings.datasetDriftShare);
  options.onWindows?.({ plans, windows: [sample], datasetDriftShare: settings.datasetDriftShare });
  return {
    model_id: 'offline',
    version: 'offline',
    reference: { source: 'rows', file: path.basename(options.reference), rows: ref.rows },
    current: { file: path.basename(options.current), rows: cur.rows },
    buckets: [{ ...bucket, start: null, end: null }],
  };
}

/**
 * What the current file holds that the report cannot show: text values in a column the reference
 * has as numbers (they have no place on its axis and are left out, as in a window of the service),
 * or none of the reference's columns at all (a different file, or another delimiter).
 */
export function leftOut(plans: readonly ColumnPlan[], current: readonly RawColumn[], file: string): string[] {
  const byKey = new Map(current.map((c) => [columnKey(c.role, c.column), c]));
  if (!plans.some((p) => byKey.has(p.key))) return [`${file} has none of the reference's columns`];
  const messages: string[] = [];
  for (const plan of plans) {
    const column = byKey.get(plan.key);
    if (plan.kind !== 'numerical' || column === undefined || column.texts.size === 0) continue;
    let texts = 0;
    for (const count of column.texts.values()) texts += count;
    const numbers = column.numbers.length;
    messages.push(
      `${file}: '${plan.ref.column}' holds ${texts} text value${texts === 1 ? '' : 's'} where the reference has numbers: left out${numbers === 0 ? ' (no value of it is compared)' : ` (${numbers} compared)`}`,
    );
  }
  return messages;
}
