/**
 * Time windows: the route's buckets (`5m`, `1h`, `1d`, `1w`, `month`) and a model's evaluation
 * window. UTC-aligned: fixed sizes on the epoch grid, weeks from Monday 00:00 UTC, months on the
 * calendar. The SQL that assigns rows to windows is generated from the same spec (`windowSql`).
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 1970-01-05 was a Monday. */
const FIRST_MONDAY = 4 * DAY;
const MAX_FIXED = 366 * DAY;

export type WindowSpec = { text: string; size: number; origin: number } | { text: 'month'; size: 'month' };

/** `<n>m`, `<n>h`, `<n>d` (a whole number ≥ 1, at most 366 days), `1w` (Monday-aligned) or `month`. */
export function parseWindow(text: string): WindowSpec | undefined {
  if (text === 'month') return { text, size: 'month' };
  if (text === '1w') return { text, size: 7 * DAY, origin: FIRST_MONDAY };
  const match = /^([1-9]\d{0,5})(m|h|d)$/.exec(text);
  if (!match) return undefined;
  const size = Number(match[1]) * { m: MINUTE, h: HOUR, d: DAY }[match[2] as 'm' | 'h' | 'd'];
  return size <= MAX_FIXED ? { text, size, origin: 0 } : undefined;
}

export const WINDOW_PATTERN = '^(month|1w|[1-9][0-9]{0,5}[mhd])$';

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

/** Start of the window holding `ms`. */
export function windowStart(spec: WindowSpec, ms: number): number {
  if (spec.size === 'month') {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  return ms - positiveModulo(ms - spec.origin, spec.size);
}

export function windowEnd(spec: WindowSpec, start: number): number {
  if (spec.size === 'month') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  return start + spec.size;
}

/** The first window boundary at or after `ms`. */
export function windowCeil(spec: WindowSpec, ms: number): number {
  const start = windowStart(spec, ms);
  return start === ms ? ms : windowEnd(spec, start);
}

/** Whole windows covering [from, to): `from` down to its window's start, `to` up to a boundary. */
export function windowsCovering(spec: WindowSpec, from: number, to: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  for (let start = windowStart(spec, from); start < to; start = windowEnd(spec, start)) out.push({ start, end: windowEnd(spec, start) });
  return out;
}

/** How many windows `windowsCovering` would return, without building them. */
export function countWindows(spec: WindowSpec, from: number, to: number): number {
  if (to <= from) return 0;
  const start = windowStart(spec, from);
  if (spec.size === 'month') {
    const a = new Date(start);
    const b = new Date(windowCeil(spec, to));
    return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
  }
  return Math.ceil((to - start) / spec.size);
}

/**
 * ClickHouse expression of the window start (epoch ms, Int64) of a `DateTime64(3)` column, the same
 * arithmetic as `windowStart` (the `%` dance keeps times before 1970 on the grid).
 */
export function windowSql(spec: WindowSpec, column: string): string {
  const ms = `toUnixTimestamp64Milli(${column})`;
  if (spec.size === 'month') return `toUnixTimestamp64Milli(makeDateTime64(toYear(${column}), toMonth(${column}), 1, 0, 0, 0, 0, 3, 'UTC'))`;
  return `(${ms} - ((((${ms} - ${spec.origin}) % ${spec.size}) + ${spec.size}) % ${spec.size}))`;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
/** DateTime64(3) holds 1900-01-01 .. 2299-12-31. */
const MIN_TIME = Date.UTC(1900, 0, 1);
const MAX_TIME = Date.UTC(2300, 0, 1) - 1;

/**
 * A time given to the API or the CLI: epoch milliseconds, or an ISO-8601 date / date-time; without
 * an offset it is UTC (JavaScript would read a date-time as local time). Undefined when invalid or
 * outside what ClickHouse stores.
 */
export function parseTime(value: string | number): number | undefined {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const text = value.trim();
    if (/^-?\d+$/.test(text)) ms = Number(text);
    else {
      const match = ISO_TIME.exec(text);
      if (!match) return undefined;
      const normalized = text.replace(' ', 'T');
      ms = Date.parse(text.length > 10 && match[1] === undefined ? `${normalized}Z` : normalized);
    }
  }
  return Number.isInteger(ms) && ms >= MIN_TIME && ms <= MAX_TIME ? ms : undefined;
}
