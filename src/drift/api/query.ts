/** The drift routes' shared query parsing: the range and bucket, the column list. */
import type { FromSchema } from 'json-schema-to-ts';
import { parseBucket, parseTime, resolveRange } from '../../platform/time/index.js';
import { DriftError } from '../errors.js';
import type { driftQuerystring } from './schemas.js';

type DriftQuery = FromSchema<typeof driftQuerystring>;

const DAY = 86_400_000;

function badRequest(message: string): DriftError {
  return new DriftError('BAD_INPUT', message);
}

/** [from, to) and the bucket of a drift request; whole buckets, like the metrics route. */
export function resolveDriftRange(query: DriftQuery, now: number) {
  const window = query.bucket === undefined ? undefined : parseBucket(query.bucket);
  if (query.bucket !== undefined && window === undefined)
    throw badRequest(
      `querystring/bucket: '${query.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d up to 366 days)`,
    );
  const to = query.to === undefined ? now : parseTime(query.to);
  if (to === undefined)
    throw badRequest(
      `querystring/to: '${query.to ?? ''}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  const from = query.from === undefined ? undefined : parseTime(query.from);
  if (query.from !== undefined && from === undefined)
    throw badRequest(
      `querystring/from: '${query.from}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  if (window === undefined) {
    const start = from ?? to - DAY;
    if (start >= to)
      throw badRequest(
        `querystring/from: must be before to (${new Date(start).toISOString()} >= ${new Date(to).toISOString()})`,
      );
    return { from: start, to, window };
  }
  const range = resolveRange({ from: query.from, to: query.to, bucket: window }, now);
  if (!range.ok) throw badRequest(range.message);
  return { from: range.from, to: range.to, window };
}

/** `columns=a,b`: names, comma-separated; undefined when not given. */
export function parseColumns(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(',').map((c) => c.trim()))];
  if (names.some((c) => c === ''))
    throw badRequest(`querystring/columns: give column names separated by commas, without empty names`);
  return names;
}
