import { describe, expect, it } from 'vitest';
import { missedRanges } from '../../../src/metrics/bucket-cache.js';
import { parseBucket, type Bucket } from '../../../src/platform/time/index.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const hourly = parseBucket('1h') as Bucket;

describe('missedRanges: the buckets a read recomputes, as time ranges', () => {
  it('joins adjacent buckets and keeps gaps apart, in time order', () => {
    const starts = [T0 + 5 * HOUR, T0, T0 + HOUR, T0 + 2 * HOUR];
    expect(missedRanges({ bucket: hourly, from: T0, to: T0 + 24 * HOUR }, starts)).toEqual([
      { from: T0, to: T0 + 3 * HOUR },
      { from: T0 + 5 * HOUR, to: T0 + 6 * HOUR },
    ]);
  });

  it('clips partial buckets at the ends to the requested range', () => {
    const range = { bucket: hourly, from: T0 + 30 * 60_000, to: T0 + 2 * HOUR - 1 };
    expect(missedRanges(range, [T0, T0 + HOUR])).toEqual([{ from: range.from, to: range.to }]);
  });

  it('follows calendar months', () => {
    const month = parseBucket('month') as Bucket;
    const feb = Date.UTC(2026, 1, 1);
    expect(missedRanges({ bucket: month, from: T0, to: Date.UTC(2027, 0, 1) }, [feb])).toEqual([
      { from: feb, to: Date.UTC(2026, 2, 1) },
    ]);
  });

  it('answers one covering range beyond 64 separate ones (the query stays small)', () => {
    const starts = Array.from({ length: 65 }, (_, i) => T0 + 2 * i * HOUR);
    const range = { bucket: hourly, from: T0, to: T0 + 200 * HOUR };
    expect(missedRanges(range, starts.slice(0, 64))).toHaveLength(64);
    expect(missedRanges(range, starts)).toEqual([{ from: T0, to: T0 + 129 * HOUR }]);
  });

  it('answers nothing for no bucket', () => {
    expect(missedRanges({ bucket: hourly, from: T0, to: T0 + HOUR }, [])).toEqual([]);
  });
});
