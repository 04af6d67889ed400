/**
 * Time buckets, one definition for every capability (SPEC 4, 5, 9): the routes' `bucket`, a
 * model's evaluation window, and the SQL that assigns rows to them. UTC-aligned: fixed sizes on
 * the epoch grid, `1w` from Monday 00:00 UTC (ISO week), `month` on the calendar.
 */
import { parseIsoTime } from './parse-time.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-05 was a Monday. */
const FIRST_MONDAY = 4 * DAY;
const MAX_FIXED = 366 * DAY;

/** A parsed bucket: `text` is what the user wrote (and what responses echo). */
export type Bucket = { text: string; size: number; origin: number } | { text: 'month'; size: 'month' };

/** `<n>m`, `<n>h`, `<n>d` (a whole number ≥ 1, at most 366 days), `1w` (Monday-aligned) or `month`. */
export function parseBucket(text: string): Bucket | undefined {
  if (text === 'month') return { text, size: 'month' };
  if (text === '1w') return { text, size: 7 * DAY, origin: FIRST_MONDAY };
  const match = /^([1-9]\d{0,5})(m|h|d)$/.exec(text);
  if (!match) return undefined;
  const size = Number(match[1]) * { m: MINUTE, h: HOUR, d: DAY }[match[2] as 'm' | 'h' | 'd'];
  return size <= MAX_FIXED ? { text, size, origin: 0 } : undefined;
}

/** JSON Schema pattern of `parseBucket`'s texts (a route's querystring or a policy field). */
export const BUCKET_PATTERN = '^(month|1w|[1-9][0-9]{0,5}[mhd])$';

/** `<n>s`, `<n>m`, `<n>h` or `<n>d`, n ≥ 0; milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,7})(s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * { s: SECOND, m: MINUTE, h: HOUR, d: DAY }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export const DURATION_PATTERN = '^[0-9]{1,7}[smhd]$';

function positiveModulo(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/** Start of the bucket holding `ms` (before 1970 too). */
export function bucketStart(bucket: Bucket, ms: number): number {
  if (bucket.size === 'month') {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return ms - positiveModulo(ms - bucket.origin, bucket.size);
}

/** Start of the bucket `n` buckets after the one starting at `start` (n may be negative). */
export function addBuckets(bucket: Bucket, start: number, n: number): number {
  if (bucket.size === 'month') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1);
  }
  return start + n * bucket.size;
}

export function bucketEnd(bucket: Bucket, start: number): number {
  return addBuckets(bucket, start, 1);
}

/** The first bucket boundary at or after `ms`. */
export function bucketCeil(bucket: Bucket, ms: number): number {
  const start = bucketStart(bucket, ms);
  return start === ms ? ms : bucketEnd(bucket, start);
}

/** Length of the bucket starting at `start`, in seconds (months vary). */
export function bucketSeconds(bucket: Bucket, start: number): number {
  return (bucketEnd(bucket, start) - start) / 1000;
}

/** Whole buckets covering [from, to): `from` down to its bucket's start, `to` up to a boundary. */
export function bucketsCovering(bucket: Bucket, from: number, to: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let start = bucketStart(bucket, from); start < to; start = bucketEnd(bucket, start))
    out.push({ start, end: bucketEnd(bucket, start) });
  return out;
}

/** How many buckets `bucketsCovering` would return, without building them. */
export function countBuckets(bucket: Bucket, from: number, to: number): number {
  if (to <= from) return 0;
  const start = bucketStart(bucket, from);
  if (bucket.size === 'month') {
    const a = new Date(start);
    const b = new Date(bucketCeil(bucket, to));
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  }
  return Math.ceil((to - start) / bucket.size);
}

/**
 * ClickHouse expression of the bucket start (epoch ms, Int64) of a `DateTime64(3)` column, the
 * same arithmetic as `bucketStart` (the `%` dance keeps times before 1970 on the grid). The
 * numbers come from `parseBucket`, never from the request text.
 */
export function bucketSql(bucket: Bucket, column: string): string {
  if (bucket.size === 'month')
    return `toUnixTimestamp64Milli(makeDateTime64(toYear(${column}), toMonth(${column}), 1, 0, 0, 0, 0, 3, 'UTC'))`;
  const ms = `toUnixTimestamp64Milli(${column})`;
  return `(${ms} - ((((${ms} - ${bucket.origin}) % ${bucket.size}) + ${bucket.size}) % ${bucket.size}))`;
}

/** What `DateTime64(3)` holds: every stored or queried time lies in [MIN_TIME, MAX_TIME]. */
export const MIN_TIME = Date.UTC(1900, 0, 1);
export const MAX_TIME = Date.UTC(2300, 0, 1) - 1;

/**
 * Epoch milliseconds as text: 0, or at least 1e11 in magnitude (1973-03-03). Below are a date or
 * a year without separators (`20210501`, `2021`) or epoch seconds (`1714521600`), which as
 * milliseconds would be instants of 1970, so such a query silently matched nothing.
 */
const DIGITS = /^-?\d+$/;
const MIN_EPOCH_MS_TEXT = 1e11;

function epochMsText(text: string): number | undefined {
  const ms = Number(text);
  return ms === 0 || Math.abs(ms) >= MIN_EPOCH_MS_TEXT ? ms : undefined;
}

/**
 * A time given to the API or the CLI: epoch milliseconds (as text: 0 or from 1e11), or a strict
 * ISO-8601 date / date-time (UTC without an offset). Undefined when invalid or outside what
 * ClickHouse stores.
 */
export function parseTime(value: string | number): number | undefined {
  let ms: number | undefined;
  if (typeof value === 'number') ms = value;
  else {
    const text = value.trim();
    ms = DIGITS.test(text) ? epochMsText(text) : parseIsoTime(text);
  }
  if (ms === undefined) return undefined;
  return Number.isInteger(ms) && ms >= MIN_TIME && ms <= MAX_TIME ? ms : undefined;
}

/** Buckets a single request may ask for; more is a 400 (a larger bucket or a shorter range is needed). */
export const MAX_BUCKETS = 10_000;
/** With no `from`, the range holds this many buckets ending with the one holding `to`. */
export const DEFAULT_BUCKETS = 24;

export interface RangeRequest {
  from?: string | undefined;
  to?: string | undefined;
  bucket: Bucket;
}

export type RangeResult =
  | { ok: true; from: number; to: number; buckets: number }
  | { ok: false; field: 'from' | 'to'; message: string };

/**
 * The range a request covers, widened to whole buckets: `from` down to its bucket's start, `to`
 * up to a bucket boundary (every bucket returned is complete; `to` stays exclusive). Defaults:
 * `to` = now, `from` = 24 buckets before the end of the range.
 */
export function resolveRange(request: RangeRequest, now: number): RangeResult {
  const { bucket } = request;
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
  let end = bucketCeil(bucket, to);
  let start = from === undefined ? addBuckets(bucket, end, -DEFAULT_BUCKETS) : bucketStart(bucket, from);
  // from = to on a boundary still means the bucket starting there.
  if (end === start) end = bucketEnd(bucket, start);
  start = Math.max(start, bucketStart(bucket, MIN_TIME));
  const buckets = countBuckets(bucket, start, end);
  if (buckets > MAX_BUCKETS) {
    return {
      ok: false,
      field: 'from',
      message: `querystring/from: the range holds ${buckets} ${bucket.text} buckets; at most ${MAX_BUCKETS} are allowed (use a larger bucket or a shorter range)`,
    };
  }
  return { ok: true, from: start, to: end, buckets };
}
