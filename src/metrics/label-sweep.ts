import type { Database } from '../platform/clickhouse/index.js';
import { labelsJoinLookup } from './schema.js';

/**
 * The sweep a read does first. The views keep `labeled_predictions` joined on both sides, except
 * when a label and its prediction are inserted at the same moment: each view looks before the
 * other's rows are there. The sweep joins the labels that may be such a case with the
 * predictions stored now, and writes the rows that are missing.
 *
 * Which labels: those in parts the last sweep had not seen, and those stored shortly before it
 * whose prediction is in a part it had not seen. A part is "seen" when its block range lies
 * inside the ranges of the parts that were active at the last sweep (same partition, ranges that
 * touch joined): a merge keeps its parts' ranges, so merged old rows are not read again, while
 * an insert gets block numbers past them (or in a gap, if it took its number first and committed
 * later: ClickHouse does not merge across a block still being committed, so the gap stays a gap
 * and a merge across it is read again). A label stored once is
 * read by one sweep, not by every sweep of the next minutes: a late label after a bulk load of
 * millions costs a lookup of one label, not a join of the millions.
 */

/**
 * The label side has the exact test above. The prediction side is narrowed by time as well
 * (a label can only race a prediction inserted at about the same time), with this margin for
 * inserts that take long between their rows' `ingested_at` and their commit.
 */
export const SWEEP_MARGIN_MS = 2 * 60_000;

/** An active part of `labels` or `prediction_lookup`, as `system.parts` gives it. */
export interface SweptPart {
  table: string;
  name: string;
  partition: string;
  min: number;
  max: number;
  rows: number;
}

const SWEPT_TABLES = `database = currentDatabase() AND table IN ('labels', 'prediction_lookup') AND active`;

/**
 * A fingerprint of what was committed to the two tables: per table, the number of insert blocks
 * its active parts cover. Only inserts change it (a merge keeps the ranges it merges). When it
 * equals the last sweep's, nothing can have raced since, and the read skips the sweep: a
 * dashboard re-reading after a bulk load pays the sweep once.
 */
const blocks = (table: string) => `(SELECT sum(max_block_number - min_block_number + 1) FROM system.parts
  WHERE database = currentDatabase() AND table = '${table}' AND active)`;

const SWEEP_STATE = `SELECT
  toString(cityHash64(${blocks('labels')}, ${blocks('prediction_lookup')})) AS fingerprint,
  toString((SELECT argMax(parts, swept_to) FROM labeled_sweeps)) AS last_fingerprint,
  (SELECT argMax(seen, swept_to) FROM labeled_sweeps) AS last_seen,
  toUnixTimestamp64Milli((SELECT max(swept_to) FROM labeled_sweeps)) AS last_swept_to,
  toUnixTimestamp64Milli(now64(3)) AS now,
  (SELECT groupArray((table, name, partition_id, min_block_number, max_block_number, rows))
     FROM system.parts WHERE ${SWEPT_TABLES}) AS parts`;

interface SweepState {
  fingerprint: string;
  last_fingerprint: string;
  last_seen: { table: string; partition: string; min: number | string; max: number | string }[];
  last_swept_to: number | string;
  now: number | string;
  parts: [string, string, string, number | string, number | string, number | string][];
}

type SeenRange = Omit<SweptPart, 'name' | 'rows'>;

/** The parts whose block range is not covered by the ranges the last sweep saw. */
export function unseenParts(parts: readonly SweptPart[], seen: readonly SeenRange[]): SweptPart[] {
  const runs = touchingRuns(seen);
  return parts.filter(
    (part) =>
      !runs.some(
        (r) =>
          r.table === part.table && r.partition === part.partition && r.min <= part.min && part.max <= r.max,
      ),
  );
}

/**
 * Seen ranges joined where they touch (one ends where the next begins), so a merge of seen parts
 * lies inside one run, while a gap (a block not seen) keeps its neighbours apart.
 */
function touchingRuns(seen: readonly SeenRange[]): SeenRange[] {
  const sorted = [...seen].sort(
    (a, b) => a.table.localeCompare(b.table) || a.partition.localeCompare(b.partition) || a.min - b.min,
  );
  const runs: SeenRange[] = [];
  for (const range of sorted) {
    const last = runs.at(-1);
    if (last?.table === range.table && last.partition === range.partition && range.min <= last.max + 1) {
      last.max = Math.max(last.max, range.max);
    } else {
      runs.push({ table: range.table, partition: range.partition, min: range.min, max: range.max });
    }
  }
  return runs;
}

const LABEL_COLUMNS = 'prediction_id, model_id, label, label_num, timestamp';
const SINCE = `ingested_at > fromUnixTimestamp64Milli({since:Int64}, 'UTC')`;
/**
 * One slice of a sweep: the ids from `lo` up to `hi` (`hi` empty: no upper end). A range rather
 * than a hash of the id, because `labels` and `prediction_lookup` are sorted by id: each slice
 * reads only its share of their granules, where a hash slice read every granule of the lookup
 * again (12 slices of a 3M-label bulk load: 22.7 CPU s against 9.35 unsliced).
 */
const IN_SLICE = `prediction_id >= {lo:String} AND ({hi:String} = '' OR prediction_id < {hi:String})`;
const WHOLE = { lo: '', hi: '' };

/**
 * Labels in parts not seen, and labels of the margin whose prediction is in a part not seen;
 * each condition only when it has parts, so that `_part` alone prunes the read to those parts.
 * Both sides keep only the ids of one slice (a range of ids), so no step holds more than a
 * slice's ids: a catch-up after an outage brings millions of unseen labels and predictions.
 */
function unseenWindow(labelParts: readonly string[], lookupParts: readonly string[]): string {
  const conditions = [
    ...(labelParts.length > 0 ? ['_part IN {label_parts:Array(String)}'] : []),
    ...(lookupParts.length > 0
      ? [
          `(${SINCE} AND prediction_id IN (SELECT prediction_id FROM prediction_lookup
             WHERE _part IN {lookup_parts:Array(String)} AND ${IN_SLICE}))`,
        ]
      : []),
  ];
  return `(SELECT ${LABEL_COLUMNS} FROM labels WHERE (${conditions.join(' OR ')}) AND ${IN_SLICE})`;
}

/** Before any sweep saw parts (a database from before migration 52): the labels of the margin. */
const MARGIN_WINDOW = `(SELECT ${LABEL_COLUMNS} FROM labels WHERE ${SINCE} AND ${IN_SLICE})`;

/**
 * The labels `labels FINAL` keeps for the window's ids (in the slice), as the raw path reads them.
 * The window's own rows may hold a label and its correction with the same event time (the same
 * rank): both joined and written in one block left which one `labeled_predictions` kept to
 * chance, and a sweep could bring back the label the correction replaced.
 */
const winning = (window: string) => `(SELECT ${LABEL_COLUMNS} FROM labels FINAL
  WHERE ${IN_SLICE} AND prediction_id IN (SELECT prediction_id FROM ${window}))`;

const LABELED_KEY = ['model_id', 'timestamp', 'prediction_id', 'label_rank'];

/**
 * The window's joined rows that are not stored already with the same key and label, so a sweep
 * that finds the views did their job writes nothing and leaves the bucket cache's fingerprints
 * alone. One anti-join against the stored rows of the window's ids.
 */
const insertMissing = (window: string) => `INSERT INTO labeled_predictions
SELECT j.* FROM (${labelsJoinLookup(winning(window))}) AS j
LEFT ANTI JOIN (
  SELECT ${LABELED_KEY.join(', ')} FROM labeled_predictions
  WHERE prediction_id IN (SELECT prediction_id FROM ${window})) AS s
ON ${LABELED_KEY.map((column) => `s.${column} = j.${column}`).join(' AND ')}`;

/**
 * Above this many labels (a bulk load's first sweep) every joined row is written again instead:
 * the rows replace themselves under FINAL, and the anti-join took 13.6 CPU s for 3M labels
 * against 9.7 s for the rewrite (`bench metrics --rows 10000000`). The rewrite raises every
 * bucket's fingerprint, but after a bulk load those buckets are new anyway.
 */
export const SWEEP_CHECKED_MAX = 100_000;

/**
 * Labels per slice of a large sweep. The join holds a slice's predictions in a hash table and
 * its ids in a set: at 250,000 that is tens of MB, where one pass over the 3 million labels of
 * a 10-minute outage's catch-up held hundreds.
 */
export const SWEEP_SLICE_LABELS = 250_000;

/** When a sweep checks for missing rows, and how many labels each of its slices holds. */
export interface SweepLimits {
  checkedMax: number;
  sliceLabels: number;
}

const DEFAULT_LIMITS: SweepLimits = { checkedMax: SWEEP_CHECKED_MAX, sliceLabels: SWEEP_SLICE_LABELS };

/** How many slices a sweep of at most `labels` labels is cut into. */
export function sweepSlices(labels: number, sliceLabels = SWEEP_SLICE_LABELS): number {
  if (!(sliceLabels >= 1)) throw new RangeError(`sliceLabels must be at least 1, got ${sliceLabels}`);
  return Math.max(1, Math.ceil(labels / sliceLabels));
}

async function marginLabels(db: Database, since: number): Promise<number> {
  const result = await db.client.query({
    query: `SELECT count() AS margin FROM labels WHERE ${SINCE}`,
    query_params: { since },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ margin: number | string }>();
  return Number(row?.margin ?? 0);
}

/** How many labels a sweep may read at most: counted on parts, without reading their ids. */
async function labelsBound(db: Database, unseen: readonly SweptPart[], since: number): Promise<number> {
  const rows = (table: string) => unseen.filter((p) => p.table === table).reduce((sum, p) => sum + p.rows, 0);
  const lookupRows = rows('prediction_lookup');
  // The margin leg reads no more labels than the margin holds, nor than there are new predictions.
  const margin = lookupRows === 0 ? 0 : Math.min(await marginLabels(db, since), lookupRows);
  return rows('labels') + margin;
}

/**
 * Joins the window's labels, slice by slice. A small window writes only the missing rows, so a
 * late label after a bulk load leaves the other buckets' cache entries alone; a bulk load's
 * window is written again whole.
 */
async function sweepWindow(
  db: Database,
  window: string,
  bound: number,
  params: Record<string, unknown>,
  limits: SweepLimits,
): Promise<void> {
  if (bound === 0) return;
  const slices = sweepSlices(bound, limits.sliceLabels);
  const query =
    bound <= limits.checkedMax
      ? insertMissing(window)
      : `INSERT INTO labeled_predictions ${labelsJoinLookup(winning(window))}`;
  const bounds = slices === 1 ? [] : await sliceBounds(db, window, params, slices);
  for (const range of sliceRanges(bounds)) {
    await db.client.command({ query, query_params: { ...params, ...range } });
  }
}

/** Ids that cut the window into `slices` ranges of about as many labels: from a sample of its ids. */
async function sliceBounds(
  db: Database,
  window: string,
  params: Record<string, unknown>,
  slices: number,
): Promise<string[]> {
  const result = await db.client.query({
    query: `SELECT arraySort(groupArraySample(${SLICE_SAMPLE}, 1)(prediction_id)) AS ids FROM ${window} AS w`,
    query_params: { ...params, ...WHOLE },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ ids: string[] }>();
  const ids = row?.ids ?? [];
  return Array.from({ length: slices - 1 }, (_, k) => ids[Math.floor(((k + 1) * ids.length) / slices)] ?? '');
}

/** Ids sampled to place the slices' bounds: each slice's share is then within a few percent. */
const SLICE_SAMPLE = 4096;

/**
 * The ranges between bounds sorted by the engine, covering every id once: from '' (below every
 * id) to the first bound, …, from the last bound with no upper end. Empty and repeated bounds
 * are dropped (an empty `hi` means no upper end).
 */
export function sliceRanges(bounds: readonly string[]): { lo: string; hi: string }[] {
  // Kept in the engine's order (bytes), which is not JavaScript's for every text: never re-sorted here.
  const cuts = bounds.filter((b, k) => b !== '' && b !== bounds[k - 1]);
  return [...cuts, ''].map((hi, k) => ({ lo: k === 0 ? '' : (cuts[k - 1] as string), hi }));
}

/** Writes the rows the views missed, then records what the sweep saw (unless a merge raced it). */
export async function sweepWaitingLabels(db: Database, limits: SweepLimits = DEFAULT_LIMITS): Promise<void> {
  const result = await db.client.query({ query: SWEEP_STATE, format: 'JSONEachRow' });
  const [state] = await result.json<SweepState>();
  if (state === undefined || state.fingerprint === state.last_fingerprint) return;
  const parts = state.parts.map(([table, name, partition, min, max, rows]) => ({
    table,
    name,
    partition,
    min: Number(min),
    max: Number(max),
    rows: Number(rows),
  }));
  const since = Number(state.last_swept_to) - SWEEP_MARGIN_MS;
  const unseen = await sweepUnseen(db, state, parts, since, limits);
  // A part read by name that a merge replaced before the read was not read: record nothing, so
  // the next sweep reads the merged part (its range is not seen) instead.
  if (unseen.length > 0 && !(await stillActive(db, unseen))) return;
  await db.client.command({
    query: `INSERT INTO labeled_sweeps (swept_to, parts, seen)
            SELECT fromUnixTimestamp64Milli({now:Int64}), toUInt64({fingerprint:String}),
                   arrayZip({tables:Array(String)}, {partitions:Array(String)}, {mins:Array(Int64)}, {maxs:Array(Int64)})`,
    // Arrays of tuples do not bind as parameters (the client writes them as arrays): zipped here.
    query_params: {
      now: Number(state.now),
      fingerprint: state.fingerprint,
      tables: parts.map((p) => p.table),
      partitions: parts.map((p) => p.partition),
      mins: parts.map((p) => p.min),
      maxs: parts.map((p) => p.max),
    },
  });
}

/** Sweeps the labels the last sweep's parts did not cover; returns the parts read by name. */
async function sweepUnseen(
  db: Database,
  state: SweepState,
  parts: readonly SweptPart[],
  since: number,
  limits: SweepLimits,
): Promise<SweptPart[]> {
  if (state.last_seen.length === 0) {
    await sweepWindow(db, MARGIN_WINDOW, await marginLabels(db, since), { since }, limits);
    return [];
  }
  const seen = state.last_seen.map((s) => ({ ...s, min: Number(s.min), max: Number(s.max) }));
  const unseen = unseenParts(parts, seen);
  if (unseen.length === 0) return [];
  const names = (table: string) => unseen.filter((p) => p.table === table).map((p) => p.name);
  const [labelParts, lookupParts] = [names('labels'), names('prediction_lookup')];
  const params = { since, label_parts: labelParts, lookup_parts: lookupParts };
  const bound = await labelsBound(db, unseen, since);
  await sweepWindow(db, unseenWindow(labelParts, lookupParts), bound, params, limits);
  return unseen;
}

async function stillActive(db: Database, parts: readonly SweptPart[]): Promise<boolean> {
  const result = await db.client.query({
    query: `SELECT count() AS found FROM system.parts WHERE ${SWEPT_TABLES} AND concat(table, '/', name) IN {parts:Array(String)}`,
    query_params: { parts: parts.map((p) => `${p.table}/${p.name}`) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ found: number | string }>();
  return Number(row?.found) === parts.length;
}
