import { describe, expect, it } from 'vitest';
import {
  addBuckets,
  bucketEnd,
  bucketSeconds,
  bucketStart,
  countBuckets,
  MAX_BUCKETS,
  parseBucket,
  parseTime,
  resolveRange,
} from '../../../src/platform/time/index.js';

const b = (text: string) => parseBucket(text)!;

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('bucketStart / bucketEnd', () => {
  it('aligns 5m, 1h and 1d buckets to UTC', () => {
    expect(iso(bucketStart(b('5m'), t('2026-03-02T10:07:59.999Z')))).toBe('2026-03-02T10:05:00.000Z');
    expect(iso(bucketStart(b('5m'), t('2026-03-02T10:05:00.000Z')))).toBe('2026-03-02T10:05:00.000Z');
    expect(iso(bucketStart(b('1h'), t('2026-03-02T10:59:59.999Z')))).toBe('2026-03-02T10:00:00.000Z');
    expect(iso(bucketStart(b('1d'), t('2026-03-02T23:59:59.999Z')))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(bucketEnd(b('1d'), t('2026-03-02T00:00:00.000Z')))).toBe('2026-03-03T00:00:00.000Z');
  });

  it('starts ISO weeks on Monday 00:00 UTC', () => {
    // 2026-03-01 is a Sunday, 2026-03-02 a Monday.
    expect(iso(bucketStart(b('1w'), t('2026-03-01T23:59:59.999Z')))).toBe('2026-02-23T00:00:00.000Z');
    expect(iso(bucketStart(b('1w'), t('2026-03-02T00:00:00.000Z')))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(bucketStart(b('1w'), t('2026-03-08T12:00:00.000Z')))).toBe('2026-03-02T00:00:00.000Z');
    expect(iso(bucketEnd(b('1w'), t('2026-03-02T00:00:00.000Z')))).toBe('2026-03-09T00:00:00.000Z');
    // 1970-01-01 was a Thursday: its week began on Monday 1969-12-29.
    expect(iso(bucketStart(b('1w'), 0))).toBe('1969-12-29T00:00:00.000Z');
  });

  it('uses calendar months, including February of a leap year', () => {
    expect(iso(bucketStart(b('month'), t('2028-02-29T23:00:00Z')))).toBe('2028-02-01T00:00:00.000Z');
    expect(iso(bucketEnd(b('month'), t('2028-02-01T00:00:00Z')))).toBe('2028-03-01T00:00:00.000Z');
    expect(iso(bucketEnd(b('month'), t('2026-12-01T00:00:00Z')))).toBe('2027-01-01T00:00:00.000Z');
    expect(bucketSeconds(b('month'), t('2028-02-01T00:00:00Z'))).toBe(29 * 86400);
    expect(iso(addBuckets(b('month'), t('2026-03-01T00:00:00Z'), -24))).toBe('2024-03-01T00:00:00.000Z');
  });

  it('keeps events before 1970 in their bucket', () => {
    expect(iso(bucketStart(b('1h'), t('1969-12-31T23:59:59.999Z')))).toBe('1969-12-31T23:00:00.000Z');
    expect(iso(bucketStart(b('5m'), t('1969-12-31T23:59:59.999Z')))).toBe('1969-12-31T23:55:00.000Z');
    expect(iso(bucketStart(b('1w'), t('1960-03-05T01:02:03Z')))).toBe('1960-02-29T00:00:00.000Z');
  });

  it('counts buckets in a range', () => {
    expect(countBuckets(b('1h'), t('2026-01-01T00:00:00Z'), t('2026-02-01T00:00:00Z'))).toBe(744);
    expect(countBuckets(b('month'), t('2025-11-01T00:00:00Z'), t('2026-02-01T00:00:00Z'))).toBe(3);
  });
});

describe('parseTime', () => {
  it('reads ISO-8601 (UTC when no offset) and epoch milliseconds', () => {
    expect(parseTime('2026-03-02T10:00:00Z')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseTime('2026-03-02T10:00:00')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseTime('2026-03-02 10:00:00.5')).toBe(t('2026-03-02T10:00:00.500Z'));
    expect(parseTime('2026-03-02T12:00:00+02:00')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseTime('2026-03-02')).toBe(t('2026-03-02T00:00:00Z'));
    expect(parseTime('1772445600000')).toBe(1772445600000);
  });

  it('rejects what is not a time, or what ClickHouse cannot store', () => {
    for (const bad of [
      'yesterday',
      '2026-03',
      '2026-13-45',
      '03/02/2026',
      '',
      '2026-03-02T25:00:00Z',
      '9999-01-01',
    ]) {
      expect(parseTime(bad), bad).toBeUndefined();
    }
  });
});

describe('resolveRange', () => {
  const now = t('2026-03-02T10:30:00Z');

  it('defaults to the 24 buckets ending with the one holding now', () => {
    const range = resolveRange({ bucket: b('1h') }, now);
    expect(range).toEqual({
      ok: true,
      from: t('2026-03-01T11:00:00Z'),
      to: t('2026-03-02T11:00:00Z'),
      buckets: 24,
    });
    const months = resolveRange({ bucket: b('month') }, now);
    expect(months).toMatchObject({
      ok: true,
      from: t('2024-04-01T00:00:00Z'),
      to: t('2026-04-01T00:00:00Z'),
      buckets: 24,
    });
  });

  it('widens from and to to whole buckets; to stays exclusive', () => {
    expect(
      resolveRange({ from: '2026-03-02T10:15:00Z', to: '2026-03-02T12:00:00Z', bucket: b('1h') }, now),
    ).toEqual({
      ok: true,
      from: t('2026-03-02T10:00:00Z'),
      to: t('2026-03-02T12:00:00Z'),
      buckets: 2,
    });
    expect(
      resolveRange({ from: '2026-03-02T10:00:00Z', to: '2026-03-02T10:00:00Z', bucket: b('1h') }, now),
    ).toMatchObject({ buckets: 1 });
  });

  it('names the field that is wrong', () => {
    expect(resolveRange({ from: 'soon', bucket: b('1h') }, now)).toMatchObject({ ok: false, field: 'from' });
    expect(resolveRange({ to: 'later', bucket: b('1h') }, now)).toMatchObject({ ok: false, field: 'to' });
    const reversed = resolveRange({ from: '2026-03-03', to: '2026-03-02', bucket: b('1h') }, now);
    expect(reversed).toMatchObject({ ok: false, field: 'from' });
    expect(!reversed.ok && reversed.message).toMatch(/^querystring\/from: must not be after to/);
  });

  it('refuses more than the bucket limit', () => {
    const limit = resolveRange({ from: '2026-01-01', to: '2026-02-04T17:20:00Z', bucket: b('5m') }, now);
    expect(limit).toMatchObject({ ok: true, buckets: MAX_BUCKETS });
    const over = resolveRange({ from: '2026-01-01', to: '2026-02-04T17:20:00.001Z', bucket: b('5m') }, now);
    expect(over).toMatchObject({ ok: false, field: 'from' });
    expect(!over.ok && over.message).toMatch(/10001 5m buckets; at most 10000/);
  });
});
