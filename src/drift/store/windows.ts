/** Reads windows of a model version's stored predictions in the form the column plans need. */
import type { Database } from '../../platform/clickhouse/index.js';
import type { ColumnPlan } from '../engine/evaluate.js';
import { addCount } from '../engine/samples.js';
import { columnKey, type ColumnRole, type WindowColumn, type WindowSample } from '../engine/types.js';
import { bucketEnd, bucketSql, type Bucket } from '../../platform/time/index.js';
import { NativeResultFile, type FileNumbers, type LazyNativeValue } from './native-file.js';
import { queryNative, writeNativeFile } from './native.js';
import type { VersionKey } from './references.js';
import {
  countsQuery,
  mayBeCut,
  numberSources,
  PARALLEL_GROUPS,
  RANGE,
  selectionOf,
  sortedQuery,
  sortFor,
  textSources,
  valuesQuery,
  type SortIn,
  type Source,
} from './sql.js';

export interface WindowsRequest {
  key: VersionKey;
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
  /** undefined: the whole range is one window. */
  window: Bucket | undefined;
  plans: readonly ColumnPlan[];
  /**
   * Called with the predictions of each window that holds any, in time order, before any value is
   * read; may throw to refuse (too many windows, or one too large to read: a window is read whole).
   */
  checkWindows?: ((predictions: readonly number[]) => void) | undefined;
  /**
   * Give numerical columns measured by PSI or JS (bin counts only) their values unsorted
   * (`WindowColumn.values`): the engine's sort is ~40 % of reading a column. For the statistics
   * only; a caller that needs order (distributions, segment references) leaves it off.
   * @default false
   */
  unsortedWhereBinned?: boolean | undefined;
  /**
   * On the embedded engine, leave numerical columns in the engine's result file
   * (`WindowColumn.pending`) until they are evaluated, and give each window a `release` that the
   * caller must call once done with it (the file stays open until every window of its batch has
   * been released). The caller reads each column into memory of its own, such as a walk thread's
   * slot, instead of the whole batch being read into fresh memory first. On a server the numbers
   * are read as usual.
   * @default false
   */
  numbersInFile?: boolean | undefined;
}

/**
 * Values fetched per query, at most (rows × columns read): windows are read in batches under this,
 * so memory stays bounded however long the range. A larger window is read on its own.
 * @default 20_000_000
 */
export const MAX_BATCH_VALUES = 20_000_000;

/** Windows that hold predictions, in time order, each read and yielded before the next batch is fetched. */
export async function* readWindows(db: Database, request: WindowsRequest): AsyncGenerator<WindowSample> {
  const { key, from, to, window, plans } = request;
  const w = window === undefined ? '{from:Int64}' : bucketSql(window, 'timestamp');
  const base = { model: key.modelId, version: key.version };
  const counts = await queryNative(
    db,
    `SELECT toInt64(${w}) AS w, count() AS n FROM predictions FINAL WHERE ${RANGE} GROUP BY w ORDER BY w`,
    { ...base, from, to },
  );
  const windows = counts.map((row) => ({ w: Number(row['w']), n: Number(row['n']) }));
  request.checkWindows?.(windows.map((entry) => entry.n));
  const perRow = Math.max(1, plans.length);
  let batch: { w: number; n: number }[] = [];
  let values = 0;
  const flush = async function* () {
    if (batch.length === 0) return;
    const first = batch[0]!.w;
    const last = batch[batch.length - 1]!.w;
    const range = {
      from: Math.max(from, first),
      to: window === undefined ? to : Math.min(to, bucketEnd(window, last)),
    };
    const { samples, files } = await readBatch(db, { ...base, ...range }, w, plans, {
      unsortedWhereBinned: request.unsortedWhereBinned ?? false,
      numbersInFile: (request.numbersInFile ?? false) && db.embedded,
      // A column holds at most one value a prediction.
      sort: sortFor(batch.reduce((most, entry) => Math.max(most, entry.n), 0)),
    });
    const windowsOfBatch = batch;
    batch = [];
    values = 0;
    // Every window holds the batch's files until it is released; one never yielded (the caller
    // stopped early, or failed) is released here.
    for (const file of files) file.hold(windowsOfBatch.length);
    const releases = windowsOfBatch.map(() => once(() => files.forEach((file) => file.release())));
    let yielded = 0;
    try {
      for (const [k, { w: start, n }] of windowsOfBatch.entries()) {
        yielded = k + 1;
        yield {
          start: window === undefined ? from : start,
          end: window === undefined ? to : bucketEnd(window, start),
          count: n,
          columns: samples.get(start) ?? new Map<string, WindowColumn>(),
          ...(files.length > 0 && { release: releases[k] }),
        };
      }
    } finally {
      for (const release of releases.slice(yielded)) release();
    }
  };
  for (const entry of windows) {
    if (batch.length > 0 && values + entry.n * perRow > MAX_BATCH_VALUES) yield* flush();
    batch.push(entry);
    values += entry.n * perRow;
  }
  yield* flush();
}

type Params = { model: string; version: string; from: number; to: number };

const binned = (plan: ColumnPlan) => plan.method === 'psi' || plan.method === 'jensenshannon';

/** How many numbers a `values` cell holds, read whole or left in the result file. */
const lengthOf = (values: LazyNativeValue | undefined) =>
  values instanceof Float64Array || (typeof values === 'object' && 'read' in values) ? values.length : 0;

/** A function that runs once, however often it is called. */
function once(run: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    run();
  };
}

interface BatchRead {
  /** Columns by window start, then column key. */
  samples: Map<number, Map<string, WindowColumn>>;
  /** Result files the columns' pending numbers are read from (`numbersInFile`). */
  files: NativeResultFile[];
}

async function readBatch(
  db: Database,
  params: Params,
  w: string,
  plans: readonly ColumnPlan[],
  options: { unsortedWhereBinned: boolean; numbersInFile: boolean; sort: SortIn },
): Promise<BatchRead> {
  const { unsortedWhereBinned, numbersInFile } = options;
  const out = new Map<number, Map<string, WindowColumn>>();
  const files: NativeResultFile[] = [];
  const wanted = new Map(plans.map((p) => [p.key, p.needs]));
  const column = (
    start: number,
    role: ColumnRole,
    name: string,
    needs: ColumnPlan['needs'],
  ): WindowColumn | undefined => {
    const k = columnKey(role, name);
    // Reading every feature key can bring columns the reference does not have, or wants in the other form.
    if (wanted.get(k) !== needs) return undefined;
    let windowColumns = out.get(start);
    if (!windowColumns) out.set(start, (windowColumns = new Map<string, WindowColumn>()));
    let c = windowColumns.get(k);
    if (!c) windowColumns.set(k, (c = {}));
    return c;
  };
  const featureNames = plans.filter((p) => p.ref.role === 'feature').map((p) => p.ref.column);

  // Numbers left in the engine's result file, which stays open (its name removed) for the windows.
  const inFile = async (query: string, queryParams: Record<string, unknown>) => {
    const file = await NativeResultFile.open(await writeNativeFile(db, query, queryParams));
    files.push(file);
    return file.rows;
  };
  const read = (query: string, queryParams: Record<string, unknown>) =>
    numbersInFile ? inFile(query, queryParams) : queryNative(db, query, queryParams);
  // A column longer than its window's predictions (a map with a key twice) may have been cut by
  // the aggregate's sort: read again with the array's, which keeps every value.
  const readSorted = async (source: Source, queryParams: Record<string, unknown>) => {
    const query = (sort: SortIn) => `${sortedQuery(source, sort)} ${PARALLEL_GROUPS}`;
    const opened = files.length;
    const rows = await read(query(options.sort), queryParams);
    if (options.sort === 'array' || !rows.some((row) => mayBeCut(lengthOf(row['values'])))) return rows;
    await Promise.all(files.splice(opened).map((file) => file.close()));
    return read(query('array'), queryParams);
  };

  // The categorical columns' counts are read on the engine's other connection while the numbers
  // are gathered: they are small, and would otherwise wait for the largest query of the batch.
  const readNumbers = async () => {
    const numberFeatures = plans
      .filter((p) => p.ref.role === 'feature' && p.ref.valueType === 'number')
      .map((p) => p.ref.column);
    const numbers = plans.filter((p) => p.needs === 'sorted');
    const groups = unsortedWhereBinned
      ? [
          { unsorted: false, plans: numbers.filter((p) => !binned(p)) },
          { unsorted: true, plans: numbers.filter(binned) },
        ]
      : [{ unsorted: false, plans: numbers }];
    for (const { unsorted, plans: these } of groups) {
      const selection = selectionOf(
        these.map((p) => p.ref),
        numberFeatures,
      );
      for (const source of numberSources(selection, w)) {
        const queryParams = {
          ...params,
          features: selection.features === 'all' ? undefined : selection.features,
        };
        const rows = unsorted
          ? await read(`${valuesQuery(source)} ${PARALLEL_GROUPS}`, queryParams)
          : await readSorted(source, queryParams);
        for (const row of rows) {
          const name = row['column'];
          const c =
            typeof name === 'string' ? column(Number(row['w']), source.role, name, 'sorted') : undefined;
          if (!c) continue;
          const numbers = row['values'];
          if (numbers instanceof Float64Array) {
            if (unsorted) c.values = numbers;
            else c.sorted = numbers;
          } else {
            const pending = numbers as FileNumbers;
            c.pending = { length: pending.length, sorted: !unsorted, read: (into) => pending.read(into) };
          }
        }
      }
    }
  };
  const readCategories = async () => {
    const categorical = selectionOf(
      plans.filter((p) => p.needs === 'categories').map((p) => p.ref),
      featureNames,
    );
    const sources = [...numberSources(categorical, w), ...textSources(categorical, w)];
    for (const source of sources) {
      const rows = await queryNative(db, countsQuery(source), {
        ...params,
        features: categorical.features === 'all' ? undefined : categorical.features,
      });
      for (const row of rows) {
        const c = column(Number(row['w']), source.role, String(row['column']), 'categories');
        if (!c) continue;
        c.categories ??= new Map();
        // Numbers become categories as `String(n)`, the form uploaded rows and the CLI use too.
        addCount(c.categories, String(row['v']), Number(row['c']));
      }
    }
  };
  // Both settled before a failure is thrown: a file the other opened meanwhile is closed too.
  const failed = (await Promise.allSettled([readNumbers(), readCategories()])).find(
    (result) => result.status === 'rejected',
  );
  if (failed) {
    await Promise.all(files.map((file) => file.close()));
    throw failed.reason;
  }
  return { samples: out, files };
}
