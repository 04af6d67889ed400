import { parseIsoTime } from '../platform/time/index.js';

/** Time buckets (SPEC 4, 9): UTC-aligned; `1w` is the ISO week (Monday 00:00 UTC); `month` is the calendar month. */
export const BUCKETS = ['5m', '1h', '1d', '1w', 'month'] as const;
export type Bucket = (typeof BUCKETS)[number];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** 1970-01-05 was a Monday: week buckets are counted from there. */
const FIRST_MONDAY = 4 * DAY;

/** Fixed-length buckets: length and the instant their grid is aligned to (epoch milliseconds). */
export const FIXED: Record<Exclude<Bucket, 'month'>, { size: number; origin: number }> = {
  '5m': { size: 5 * MINUTE, origin: 0 },
  '1h': { size: HOUR, origin: 0 },
  '1d': { size: DAY, origin: 0 },
  '1w': { size: WEEK, origin: FIRST_MONDAY },
};

export function isBucket(value: string): value is Bucket {
  return (BUCKETS as readonly string[]).includes(value);
}

function positiveModulo(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Start of the bucket holding `ms` (works before 1970 too). */
export function bucketStart(ms: number, bucket: Bucket): number {
  if (bucket === 'month') {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const { size, origin } = FIXED[bucket];
  return ms - positiveModulo(ms - origin, size);
}

/** Start of the bucket `n` buckets after the one starting at `start` (n may be negative). */
export function addBuckets(start: number, bucket: Bucket, n: number): number {
  if (bucket === 'month') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
  }
  return start + n * FIXED[bucket].size;
}

export function bucketEnd(start: number, bucket: Bucket): number {
  return addBuckets(start, bucket, 1);
}

/** The smallest bucket boundary at or after `ms`. */
export function bucketCeil(ms: number, bucket: Bucket): number {
  const start = bucketStart(ms, bucket);
  return start === ms ? ms : bucketEnd(start, bucket);
}

/** Buckets in [from, to), both on bucket boundaries. */
export function bucketCount(from: number, to: number, bucket: Bucket): number {
  if (to <= from) return 0;
  if (bucket === 'month') {
    const a = new Date(from);
    const b = new Date(to);
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  }
  return Math.round((to - from) / FIXED[bucket].size);
}

/** DateTime64(3) holds 1900-01-01 .. 2299-12-31. */
const MIN_TIME = Date.UTC(1900, 0, 1);
const MAX_TIME = Date.UTC(2300, 0, 1);

/**
 * An API time: epoch milliseconds (digits) or an ISO-8601 date / date-time. A date-time without
 * an offset is UTC (JavaScript would read it as local time, which would make results depend on
 * the server's zone). Strict: `2026-02-30` or `T24:00` is not a time. Undefined when it is neither, or outside what ClickHouse can store.
 */
export function parseTime(text: string): number | undefined {
  const trimmed = text.trim();
  const ms = /^-?\d+$/.test(trimmed) ? Number(trimmed) : parseIsoTime(trimmed);
  if (ms === undefined) return undefined;
  return Number.isFinite(ms) && ms >= MIN_TIME && ms <= MAX_TIME ? ms : undefined;
}

export interface RangeRequest {
  from?: string | undefined;
  to?: string | undefined;
  bucket: Bucket;
}

export type RangeResult =
  | { ok: true; from: number; to: number; buckets: number }
  | { ok: false; field: 'from' | 'to'; message: string };

/** Buckets a single request may ask for; more is a 400 (a larger bucket or a shorter range is needed). */
export const MAX_BUCKETS = 10_000;
/** With no `from`, the range holds this many buckets ending with the one holding `to`. */
export const DEFAULT_BUCKETS = 24;

/**
 * The range a request covers, widened to whole buckets: `from` down to its bucket's start, `to`
 * up to a bucket boundary (so every bucket returned is complete, and `to` stays exclusive).
 * Defaults: `to` = now, `from` = 24 buckets before the end of the range.
 */
export function resolveRange(request: RangeRequest, now: number): RangeResult {
  const from = request.from === undefined ? undefined : parseTime(request.from);
  if (request.from !== undefined && from === undefined) {
    return {
      ok: false,
      field: 'from',
      message: `querystring/from: '${request.from}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    };
  }
  const to = request.to === undefined ? now : parseTime(request.to);
  if (to === undefined) {
    return {
      ok: false,
      field: 'to',
      message: `querystring/to: '${request.to ?? ''}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    };
  }
  if (from !== undefined && from > to) {
    return {
      ok: false,
      field: 'from',
      message: `querystring/from: must not be after to (${new Date(from).toISOString()} > ${new Date(to).toISOString()})`,
    };
  }
  let end = bucketCeil(to, request.bucket);
  let start =
    from === undefined
      ? addBuckets(end, request.bucket, -DEFAULT_BUCKETS)
      : bucketStart(from, request.bucket);
  // from = to on a boundary still means the bucket starting there.
  if (end === start) end = bucketEnd(start, request.bucket);
  start = Math.max(start, bucketStart(MIN_TIME, request.bucket));
  const buckets = bucketCount(start, end, request.bucket);
  if (buckets > MAX_BUCKETS) {
    return {
      ok: false,
      field: 'from',
      message: `querystring/from: the range holds ${buckets} ${request.bucket} buckets; at most ${MAX_BUCKETS} are allowed (use a larger bucket or a shorter range)`,
    };
  }
  return { ok: true, from: start, to: end, buckets };
}

/** Length of the bucket starting at `start`, in seconds (months vary). */
export function bucketSeconds(start: number, bucket: Bucket): number {
  return (bucketEnd(start, bucket) - start) / 1000;
}
