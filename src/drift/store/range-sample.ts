/**
 * A reference from a time range: the version's own values in [from, to), gathered once in
 * ClickHouse, checked, stored as the revision's sample, and handed to JavaScript for the summary.
 */
import { rm } from 'node:fs/promises';
import type { Database } from '../../platform/clickhouse/index.js';
import type { ColumnRole, RawColumn } from '../engine/types.js';
import {
  parseNative,
  queryNative,
  readNativeFile,
  sqlString,
  writeNativeFile,
  type NativeValue,
} from './native.js';
import { rewriteSorted, SAMPLE_FILE_STRUCTURE, type SampleColumn } from './sample-file.js';
import {
  copyRawColumnsFromRange,
  mayHaveLabels,
  rangeFeatureNames,
  readRawColumns,
  writeRawColumns,
  type VersionKey,
} from './references.js';
import {
  countsQuery,
  mayBeCut,
  numberSources,
  PARALLEL_GROUPS,
  sortedQuery,
  sortFor,
  textSources,
  type SortIn,
  type Source,
} from './sql.js';

/** What a range holds, for the reference limits: feature columns, and the longest name if too long. */
export interface RangeColumns {
  features: number;
  longName: { name: string; length: number } | undefined;
}

export interface RangeSampleRequest {
  key: VersionKey;
  revision: number;
  /** Epoch ms, [from, to). */
  from: number;
  to: number;
  /** Names longer than this are reported in `RangeColumns.longName`. */
  maxNameLength: number;
  /** Sees what the range holds before anything is written; throws to refuse the range. */
  check: (found: RangeColumns) => void;
  /** The range's predictions, where counted: how its numbers are sorted first (`sortFor`). */
  predictions?: number;
}

/**
 * Writes the revision's sample (`drift_reference_values`) from the range and returns what
 * `summarize` makes of its raw columns; on the embedded engine `summarize` runs while the engine
 * stores the sample.
 *
 * On the embedded engine each role's sorted numbers are gathered once into a Native file that
 * both JavaScript and the insert read, and the limits are checked on what was gathered (the
 * sample is what the limits protect, and gathering it holds no more than its values). Measured
 * on 20 features × 1M rows, CPU s: the separate name scan (1.1), the copy into the table (2.1)
 * and reading the table back (0.7) become one gather (~1.3) and an insert from the file.
 * A server cannot share a file with this process: there the names are counted first, the values
 * are copied inside the server and read back.
 */
export async function sampleRange(db: Database, request: RangeSampleRequest): Promise<RawColumn[]>;
export async function sampleRange<T>(
  db: Database,
  request: RangeSampleRequest,
  summarize: (raw: RawColumn[]) => T,
): Promise<T>;
export async function sampleRange<T>(
  db: Database,
  request: RangeSampleRequest,
  summarize: (raw: RawColumn[]) => T | RawColumn[] = (raw) => raw,
): Promise<T | RawColumn[]> {
  const { key, revision, from, to } = request;
  if (!db.embedded) {
    request.check(await rangeFeatureNames(db, key, from, to, request.maxNameLength));
    await copyRawColumnsFromRange(db, key, revision, from, to);
    return summarize(await readRawColumns(db, key, revision));
  }
  const params = { model: key.modelId, version: key.version, from, to };
  const all = {
    features: 'all',
    prediction: true,
    score: true,
    label: await mayHaveLabels(db, key),
  } as const;
  const files: GatheredFile[] = [];
  try {
    const columns = new Map<string, RawColumn>();
    const column = (role: ColumnRole, name: string): RawColumn => {
      const k = `${role}\u0000${name}`;
      let c = columns.get(k);
      if (!c) columns.set(k, (c = { role, column: name, numbers: new Float64Array(0), texts: new Map() }));
      return c;
    };
    for (const source of numberSources(all, '0')) {
      const sort = request.predictions === undefined ? 'aggregate' : sortFor(request.predictions);
      for (const row of await gatherSorted(db, source, params, files, sort))
        column(source.role, String(row['column'])).numbers = row['values'] as Float64Array;
    }
    for (const source of textSources(all, '0')) {
      for (const row of await queryNative(db, countsQuery(source), params)) {
        const texts = column(source.role, String(row['column'])).texts;
        texts.set(String(row['v']), (texts.get(String(row['v'])) ?? 0) + Number(row['c']));
      }
    }
    const raw = [...columns.values()];
    request.check(rangeColumns(raw, request.maxNameLength));
    await sortInTableOrder(files);
    // The engine stores the sample on its own threads while this thread summarizes it (awaited
    // below; handled at once so that a failure meanwhile is not an unhandled rejection).
    const stored = storeSample(db, request, files, raw);
    stored.catch(() => undefined);
    // Let the insert reach the engine's thread before this thread is busy.
    await new Promise((resolve) => setImmediate(resolve));
    let summary: T | RawColumn[];
    try {
      summary = summarize(raw);
    } catch (err) {
      await stored.catch(() => undefined);
      throw err;
    }
    await stored;
    return summary;
  } finally {
    await Promise.all(files.map(({ file }) => rm(file, { force: true })));
  }
}

/** A role's sorted numbers as the engine wrote them, and the columns read from it. */
interface GatheredFile {
  role: ColumnRole;
  file: string;
  columns: SampleColumn[];
}

/**
 * One role's sorted numbers, written by the engine to a file (added to `files`) and read from it.
 * A column long enough to have been cut by the aggregate's sort (`mayBeCut`: a range too long to
 * have been counted, or a map holding a key twice) has the role gathered again with the array's.
 */
async function gatherSorted(
  db: Database,
  source: Source,
  params: Record<string, unknown>,
  files: GatheredFile[],
  sort: SortIn,
): Promise<Record<string, NativeValue>[]> {
  const gather = async (sort: SortIn) => {
    const file = await writeNativeFile(db, `${sortedQuery(source, sort)} ${PARALLEL_GROUPS}`, params);
    const gathered: GatheredFile = { role: source.role, file, columns: [] };
    files.push(gathered);
    const rows = parseNative(await readNativeFile(file, { shared: true }));
    gathered.columns = rows.map((row) => ({
      column: String(row['column']),
      values: row['values'] as Float64Array,
    }));
    return rows;
  };
  const rows = await gather(sort);
  if (sort === 'array' || !rows.some((row) => mayBeCut((row['values'] as Float64Array).length))) return rows;
  await rm(files.pop()!.file, { force: true });
  return gather('array');
}

/**
 * Rewrites each gathered file in `drift_reference_values`' order (sample-file.ts), so that the
 * sample's insert takes its block as it is. Before the summary: the writes are issued from this
 * thread, which the summary then keeps busy.
 */
async function sortInTableOrder(files: readonly GatheredFile[]): Promise<void> {
  await Promise.all(files.filter((f) => f.columns.length > 0).map((f) => rewriteSorted(f.file, f.columns)));
}

/**
 * The sorted numbers from the gathered files (rewritten in the table's order: `sortInTableOrder`),
 * then the text categories, into `drift_reference_values`. Merging on insert is off: a file's rows
 * are one role's columns, each once (grouped by name), so it would find nothing to replace, and it
 * copies the whole block.
 */
async function storeSample(
  db: Database,
  request: RangeSampleRequest,
  files: readonly GatheredFile[],
  raw: readonly RawColumn[],
): Promise<void> {
  const { key, revision } = request;
  for (const { role, file, columns } of files) {
    if (columns.length === 0) continue;
    await db.client.command({
      query: `INSERT INTO drift_reference_values (model_id, model_version, revision, role, column, part, numbers, texts, counts)
        SELECT {model:String}, {version:String}, {revision:UInt64}, ${sqlString(role)}, column, 'number', values, [], []
        FROM file(${sqlString(file)}, 'Native', ${sqlString(SAMPLE_FILE_STRUCTURE)})`,
      query_params: { model: key.modelId, version: key.version, revision },
      clickhouse_settings: { optimize_on_insert: 0 },
    });
  }
  await writeRawColumns(
    db,
    key,
    revision,
    raw.map((c) => ({ ...c, numbers: new Float64Array(0) })),
  );
}

/** Feature columns of a gathered range, and its longest name when that is over `maxLength`. */
export function rangeColumns(raw: readonly RawColumn[], maxLength: number): RangeColumns {
  let longest = '';
  let features = 0;
  for (const c of raw) {
    if (c.role !== 'feature') continue;
    features++;
    if (c.column.length > longest.length) longest = c.column;
  }
  return {
    features,
    longName:
      longest.length > maxLength ? { name: longest.slice(0, 100), length: longest.length } : undefined,
  };
}
