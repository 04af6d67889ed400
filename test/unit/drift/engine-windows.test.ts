import { describe, expect, it } from 'vitest';
import { referenceInput, resolveDriftRange } from '../../../src/drift/api/routes.js';
import {
  countBuckets,
  parseDuration,
  parseTime,
  parseBucket,
  bucketCeil,
  bucketEnd,
  bucketStart,
  bucketsCovering,
} from '../../../src/platform/time/index.js';

const t = (iso: string) => Date.parse(iso);

describe('windows', () => {
  it('parses the route buckets and evaluation windows', () => {
    expect(parseBucket('5m')).toEqual({ text: '5m', size: 300_000, origin: 0 });
    expect(parseBucket('1w')).toMatchObject({ size: 7 * 86_400_000 });
    expect(parseBucket('month')).toEqual({ text: 'month', size: 'month' });
    for (const bad of ['0h', '1s', '2w', 'h', '367d', '1.5h', ' 1h'])
      expect(parseBucket(bad)).toBeUndefined();
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('5')).toBeUndefined();
  });

  it('aligns in UTC: hours on the epoch grid, weeks from Monday, calendar months', () => {
    expect(bucketStart(parseBucket('1h')!, t('2026-11-25T10:59:59.999Z'))).toBe(t('2026-11-25T10:00:00Z'));
    expect(bucketStart(parseBucket('5m')!, t('2026-11-25T10:04:00Z'))).toBe(t('2026-11-25T10:00:00Z'));
    // 2026-11-25 is a Wednesday; its ISO week starts Monday 23rd.
    expect(bucketStart(parseBucket('1w')!, t('2026-11-25T10:00:00Z'))).toBe(t('2026-11-23T00:00:00Z'));
    expect(bucketStart(parseBucket('1w')!, t('2026-11-23T00:00:00Z'))).toBe(t('2026-11-23T00:00:00Z'));
    const month = parseBucket('month')!;
    expect(bucketStart(month, t('2024-02-29T23:00:00Z'))).toBe(t('2024-02-01T00:00:00Z'));
    expect(bucketEnd(month, t('2024-02-01T00:00:00Z'))).toBe(t('2024-03-01T00:00:00Z'));
    expect(bucketEnd(month, t('2025-12-01T00:00:00Z'))).toBe(t('2026-01-01T00:00:00Z'));
    // Before 1970 too.
    expect(bucketStart(parseBucket('1d')!, t('1969-12-31T12:00:00Z'))).toBe(t('1969-12-31T00:00:00Z'));
    expect(bucketCeil(parseBucket('1h')!, t('2026-01-01T01:00:00Z'))).toBe(t('2026-01-01T01:00:00Z'));
    expect(bucketCeil(parseBucket('1h')!, t('2026-01-01T01:00:00.001Z'))).toBe(t('2026-01-01T02:00:00Z'));
  });

  it('lists and counts the windows covering a range', () => {
    const month = parseBucket('month')!;
    const covering = bucketsCovering(month, t('2026-01-15T00:00:00Z'), t('2026-03-01T00:00:00Z'));
    expect(covering.map((w) => new Date(w.start).toISOString().slice(0, 7))).toEqual(['2026-01', '2026-02']);
    expect(countBuckets(month, t('2026-01-15T00:00:00Z'), t('2026-03-01T00:00:01Z'))).toBe(3);
    expect(countBuckets(parseBucket('1h')!, t('2026-01-01T00:30:00Z'), t('2026-01-01T03:00:00Z'))).toBe(3);
  });

  it('reads API times: epoch ms or ISO-8601, UTC without an offset', () => {
    expect(parseTime('2026-11-25 10:00:00')).toBe(t('2026-11-25T10:00:00Z'));
    expect(parseTime('2026-11-25T10:00:00+01:00')).toBe(t('2026-11-25T09:00:00Z'));
    expect(parseTime('2026-11-25')).toBe(t('2026-11-25T00:00:00Z'));
    expect(parseTime('1764064800000')).toBe(1764064800000);
    expect(parseTime(1764064800000)).toBe(1764064800000);
    expect(parseTime('yesterday')).toBeUndefined();
    expect(parseTime('2400-01-01')).toBeUndefined();
  });
});

describe('drift route range', () => {
  const now = t('2026-11-25T10:17:00Z');

  it('widens to whole buckets and defaults to 24 buckets before now', () => {
    expect(resolveDriftRange({ bucket: '1h' }, now)).toMatchObject({
      from: t('2026-11-24T11:00:00Z'),
      to: t('2026-11-25T11:00:00Z'),
    });
    expect(
      resolveDriftRange({ bucket: '1h', from: '2026-11-25T08:30:00Z', to: '2026-11-25T09:10:00Z' }, now),
    ).toMatchObject({
      from: t('2026-11-25T08:00:00Z'),
      to: t('2026-11-25T10:00:00Z'),
    });
    expect(
      resolveDriftRange({ bucket: 'month', from: '2026-03-31T00:00:00Z', to: '2026-03-31T00:00:00Z' }, now),
    ).toMatchObject({
      from: t('2026-03-01T00:00:00Z'),
      to: t('2026-04-01T00:00:00Z'),
    });
  });

  it('without a bucket: exactly [from, to), one day by default', () => {
    expect(resolveDriftRange({}, now)).toEqual({ from: now - 86_400_000, to: now, window: undefined });
    expect(
      resolveDriftRange({ from: '2026-11-25T08:30:00Z', to: '2026-11-25T09:10:00Z' }, now),
    ).toMatchObject({ from: t('2026-11-25T08:30:00Z'), to: t('2026-11-25T09:10:00Z') });
  });

  it('names the bad parameter', () => {
    expect(() => resolveDriftRange({ bucket: '2w' }, now)).toThrow(
      /^querystring\/bucket: '2w' is not a bucket/,
    );
    expect(() => resolveDriftRange({ from: 'soon' }, now)).toThrow(/^querystring\/from: 'soon'/);
    expect(() => resolveDriftRange({ to: 'x' }, now)).toThrow(/^querystring\/to: 'x'/);
    expect(() => resolveDriftRange({ from: '2026-11-25T11:00:00Z' }, now)).toThrow(
      /^querystring\/from: must be before to/,
    );
    expect(() => resolveDriftRange({ bucket: '5m', from: '2020-01-01', to: '2026-01-01' }, now)).toThrow(
      /^querystring\/from: the range holds \d+ 5m buckets; at most 10000/,
    );
  });

  it('reference body: rows, or from and to', () => {
    expect(referenceInput({ rows: [{ a: 1 }] })).toEqual({ rows: [{ a: 1 }] });
    expect(referenceInput({ from: '2026-11-25', to: 1795651200000 })).toEqual({
      from: t('2026-11-25T00:00:00Z'),
      to: t('2026-11-26T00:00:00Z'),
    });
    expect(() => referenceInput({ rows: [], from: 1 })).toThrow(
      'body: give either rows or from and to, not both',
    );
    expect(() => referenceInput({ from: '2026-11-25' })).toThrow('body/to: required');
    expect(() => referenceInput({})).toThrow('body/from: required');
    expect(() => referenceInput({ from: 'x', to: 1 })).toThrow("body/from: 'x' is not");
    expect(() => referenceInput({ from: 5, to: 5 })).toThrow('body/from: must be before to');
  });
});
