import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIsoTime, parseTime } from '../../../src/platform/time/index.js';

const t = (iso: string) => Date.parse(iso);

describe('parseIsoTime: strict ISO-8601', () => {
  it('reads dates and date-times, UTC without an offset', () => {
    expect(parseIsoTime('2026-03-02')).toBe(t('2026-03-02T00:00:00Z'));
    expect(parseIsoTime('2026-03-02T10:00')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseIsoTime('2026-03-02 10:00:07.5')).toBe(t('2026-03-02T10:00:07.500Z'));
    expect(parseIsoTime('2026-03-02T10:00:07.123456789Z')).toBe(t('2026-03-02T10:00:07.123Z'));
    expect(parseIsoTime('2026-03-02T12:00:00+02:00')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseIsoTime('2026-03-02T08:30:00-0130')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseIsoTime('2026-03-02T12:00:00+02')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseIsoTime('2026-03-02T05:00-05')).toBe(t('2026-03-02T10:00:00Z'));
    expect(parseIsoTime('2026-03-02 10:00:07.5+00')).toBe(t('2026-03-02T10:00:07.500Z'));
    expect(parseIsoTime('2024-02-29')).toBe(t('2024-02-29T00:00:00Z'));
    expect(parseIsoTime('2026-12-31T23:59:59.999z')).toBe(t('2026-12-31T23:59:59.999Z'));
    expect(parseIsoTime('0099-01-01')).toBe(new Date('0099-01-01T00:00:00Z').getTime());
  });

  it('refuses days, hours and offsets that do not exist, instead of rolling them over', () => {
    for (const bad of [
      '2026-02-30',
      '2026-02-29',
      '2100-02-29',
      '2026-04-31',
      '2026-00-10',
      '2026-13-01',
      '2026-01-00',
      '2026-01-32',
      '2026-01-01T24:00',
      '2026-01-01T23:60',
      '2026-01-01T23:59:60',
      '2026-01-01T10:00+24:00',
      '2026-01-01T10:00+01:60',
      '2026-01-01T10:00+24',
      '2026-01-01T10:00+2',
      '2026-01-01T10:00+02:',
      '2026-01-01T10:00+02:3',
      '2026-01-01T10:00+023',
      '2026-01-01-05',
      '2026-01-01Z',
      '2026-1-01',
      '2026-01-01T10',
      '2026-01-01T10:00:00.',
      '2026-01-01T10:00:00.1234567890',
      ' 2026-01-01',
      'yesterday',
      '',
    ]) {
      expect(parseIsoTime(bad), bad).toBeUndefined();
    }
  });

  it('round-trips every instant toISOString writes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2299, 11, 31) }), (ms) => {
        expect(parseIsoTime(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });

  it('accepts a calendar day exactly when it exists (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1900, max: 2299 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        (y, m, d) => {
          const text = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
          const exists = new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d;
          expect(parseIsoTime(text) !== undefined, text).toBe(exists);
        },
      ),
    );
  });

  it('is the parser of the metrics and drift routes', () => {
    expect(parseTime('2026-02-30')).toBeUndefined();
    expect(parseTime('2026-02-30')).toBeUndefined();
    expect(parseTime('2026-02-28')).toBe(t('2026-02-28T00:00:00Z'));
    expect(parseTime('2026-02-28T23:00+01:00')).toBe(t('2026-02-28T22:00:00Z'));
    expect(parseTime('2026-02-28T23:00+01')).toBe(t('2026-02-28T22:00:00Z'));
  });

  it('reads digits as epoch milliseconds only from 1e11 (1973) on, or 0: below are dates, years, epoch seconds', () => {
    // All read as instants of 1970 before, so a query with them matched nothing.
    for (const text of ['20210501', '2021', '-1', '1714521600', '99999999999'])
      expect(parseTime(text), text).toBeUndefined();
    expect(parseTime('0')).toBe(0);
    expect(parseTime('100000000000')).toBe(1e11);
    expect(parseTime('1772445600000')).toBe(1_772_445_600_000);
    expect(parseTime('-2208988800000')).toBe(Date.UTC(1900, 0, 1));
    expect(parseTime(0)).toBe(0);
  });
});
