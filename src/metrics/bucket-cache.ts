import { createHash } from 'node:crypto';
import type { Database } from '../platform/clickhouse/index.js';
import { bucketEnd, bucketSql, type Bucket } from '../platform/time/index.js';
import type { MetricsQueryInput, MetricsRow } from './metrics-sql.js';
import { rollupMetricsQuery, type TimeRange } from './rollup-sql.js';

/**
 * The per-bucket result cache of the rollup path (issue 17; README, "The bucket cache").
 *
 * A bucket's cached row is used when (1) the bucket lies whole inside the requested range,
 * (2) the query that would compute it is the one that did (its hash: task, positive class and
 * SQL, so a PATCHed positive class or a new release recomputes), and (3) its fingerprint is
 * unchanged: the rows inserted into `predictions` and `labeled_predictions` for the model in the
 * bucket's minutes (summed at insert time by views), and the tables' mutations. Only inserts and
 * mutations change what FINAL answers for a bucket (merges do not), and each changes the
 * fingerprint, so a cached row is the row the query would answer now.
 *
 * The fingerprints are read before the missed buckets are computed: an insert committing in
 * between is then in the row but not in the fingerprint stored beside it, so the next read
 * recomputes the bucket (never the other way round: a stale row under a new fingerprint).
 */

export type CacheInput = Omit<MetricsQueryInput, 'prefilterLabels' | 'source'>;

/** At most this many separate ranges in one recompute; beyond, one range covers them all. */
const MAX_RANGES = 64;

interface CacheEntry {
  model_version: string;
  start_ms: number;
  query_hash: string;
  fingerprint: string;
  row: string;
}

/** The cache's key for a bucket size (`60m` and `1h` share it). */
const sizeKey = (bucket: Bucket) => (bucket.size === 'month' ? 'month' : `${bucket.size}@${bucket.origin}`);

const entryKey = (version: string, start: number) => `${version}\u0000${start}`;

/** How a read went: buckets (of one task's versions) read from the cache, and computed. */
export interface CacheStats {
  hits: number;
  computed: number;
}

/**
 * Rows of the rollup query for each input (the versions of one task each; one model, bucket and
 * range for all), cached buckets read, the others computed and cached.
 */
export async function cachedRollup(
  db: Database,
  inputs: CacheInput[],
): Promise<{ rows: MetricsRow[][]; stats: CacheStats }> {
  const stats = { hits: 0, computed: 0 };
  const [first] = inputs;
  if (first === undefined) return { rows: [], stats };
  const versions = inputs.flatMap((i) => i.versions.map((v) => v.version));
  const [fingerprints, cached] = await Promise.all([
    readFingerprints(db, first),
    readCache(db, first, versions),
  ]);
  const rows = await Promise.all(inputs.map((input) => throughCache(db, input, fingerprints, cached, stats)));
  return { rows, stats };
}

/** What the model's buckets in range hold now, by bucket start: buckets with no rows are absent. */
async function readFingerprints(db: Database, input: CacheInput): Promise<Map<number, string>> {
  const result = await db.client.query({
    query: `SELECT toInt64(${bucketSql(input.bucket, 'minute')}) AS start_ms,
              concat(toString(sum(predictions)), ':', toString(sum(labeled)), ':', toString((${MUTATIONS}))) AS fingerprint
            FROM metrics_insert_counts
            WHERE model_id = {model:String}
              -- The minute holding {from} too: a range may start inside a minute (its bucket is partial).
              AND minute > fromUnixTimestamp64Milli({from:Int64} - 60000, 'UTC')
              AND minute < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
            GROUP BY start_ms`,
    query_params: { model: input.model, from: input.from, to: input.to },
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ start_ms: number; fingerprint: string }>();
  return new Map(rows.map((r) => [Number(r.start_ms), r.fingerprint]));
}

/**
 * The mutations of the two tables the route reads (retention's deletes), done or not: one
 * starting or finishing changes every fingerprint. Dropped from the engine's history after a
 * while, which changes it once more (a needless recompute, never a stale row).
 */
const MUTATIONS = `SELECT cityHash64(arraySort(groupArray((table, mutation_id, is_done)))) FROM system.mutations
  WHERE database = currentDatabase() AND table IN ('predictions', 'labeled_predictions')`;

async function readCache(
  db: Database,
  input: CacheInput,
  versions: string[],
): Promise<Map<string, CacheEntry>> {
  const result = await db.client.query({
    query: `SELECT model_version, start_ms, query_hash, fingerprint, row
            FROM metrics_bucket_cache FINAL
            WHERE model_id = {model:String} AND bucket = {bucket:String} AND model_version IN {versions:Array(String)}
              AND start_ms >= {from:Int64} AND start_ms < {to:Int64}`,
    query_params: {
      model: input.model,
      bucket: sizeKey(input.bucket),
      versions,
      from: input.from,
      to: input.to,
    },
    format: 'JSONEachRow',
  });
  const rows = await result.json<CacheEntry>();
  return new Map(rows.map((r) => [entryKey(r.model_version, Number(r.start_ms)), r]));
}

/** The query that computes a version's buckets, hashed: the cache holds rows of this query only. */
function queryHash(input: CacheInput, version: CacheInput['versions'][number]): string {
  const { query } = rollupMetricsQuery({ ...input, versions: [version] });
  return createHash('sha256')
    .update(`${input.task}\n${version.positiveClass}\n${query}`)
    .digest('hex')
    .slice(0, 32);
}

async function throughCache(
  db: Database,
  input: CacheInput,
  fingerprints: Map<number, string>,
  cached: Map<string, CacheEntry>,
  stats: CacheStats,
): Promise<MetricsRow[]> {
  const hashes = input.versions.map((v) => queryHash(input, v));
  const rows: MetricsRow[] = [];
  const missed: number[] = [];
  for (const [start, fingerprint] of [...fingerprints].sort((a, b) => a[0] - b[0])) {
    const entries = input.versions.map((v) => cached.get(entryKey(v.version, start)));
    const hit =
      isWhole(input, start) &&
      entries.every((e, i) => e !== undefined && e.fingerprint === fingerprint && e.query_hash === hashes[i]);
    if (!hit) missed.push(start);
    else for (const e of entries) if (e?.row) rows.push(JSON.parse(e.row) as MetricsRow);
  }
  stats.hits += fingerprints.size - missed.length;
  stats.computed += missed.length;
  if (missed.length === 0) return rows;
  const computed = await compute(db, input, missed);
  await store(db, input, hashes, missed, fingerprints, computed);
  return [...rows, ...computed];
}

/** A bucket that lies whole inside the range (a partial one is computed every time, never cached). */
const isWhole = (input: CacheInput, start: number) =>
  start >= input.from && bucketEnd(input.bucket, start) <= input.to;

/** The missed buckets as ranges, adjacent ones joined, clipped to the requested range. */
export function missedRanges(
  input: Pick<CacheInput, 'bucket' | 'from' | 'to'>,
  starts: number[],
): TimeRange[] {
  const ranges: TimeRange[] = [];
  for (const start of [...starts].sort((a, b) => a - b)) {
    const range = {
      from: Math.max(start, input.from),
      to: Math.min(bucketEnd(input.bucket, start), input.to),
    };
    const last = ranges.at(-1);
    if (last !== undefined && last.to >= range.from) last.to = Math.max(last.to, range.to);
    else ranges.push(range);
  }
  if (ranges.length <= MAX_RANGES) return ranges;
  return [{ from: ranges[0]!.from, to: ranges.at(-1)!.to }];
}

async function compute(db: Database, input: CacheInput, missed: number[]): Promise<MetricsRow[]> {
  const { query, params } = rollupMetricsQuery({ ...input, ranges: missedRanges(input, missed) });
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  const wanted = new Set(missed);
  // A covering range (more than MAX_RANGES) also answers buckets that were hits: theirs stay.
  return (await result.json<MetricsRow>()).filter((r) => wanted.has(Number(r.start_ms)));
}

/** Caches the whole missed buckets, every version (an empty row where it had no prediction). */
async function store(
  db: Database,
  input: CacheInput,
  hashes: string[],
  missed: number[],
  fingerprints: Map<number, string>,
  computed: MetricsRow[],
): Promise<void> {
  const byKey = new Map(computed.map((r) => [entryKey(r.version, Number(r.start_ms)), r]));
  const lines: string[] = [];
  for (const start of missed.filter((s) => isWhole(input, s)))
    input.versions.forEach((v, i) => {
      const row = byKey.get(entryKey(v.version, start));
      lines.push(
        JSON.stringify({
          model_id: input.model,
          bucket: sizeKey(input.bucket),
          model_version: v.version,
          start_ms: start,
          query_hash: hashes[i],
          fingerprint: fingerprints.get(start),
          row: row === undefined ? '' : JSON.stringify(row),
        }),
      );
    });
  await db.insertJsonEachRow('metrics_bucket_cache', Buffer.from(lines.join('\n')));
}
