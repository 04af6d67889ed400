import { describe, expect, it } from 'vitest';
import { sliceRanges, sweepSlices, unseenParts, type SweptPart } from '../../../src/metrics/label-sweep.js';

const part = (table: string, partition: string, min: number, max: number): SweptPart => ({
  table,
  name: `${partition}_${min}_${max}_0`,
  partition,
  min,
  max,
  rows: 1,
});

describe('unseenParts: the parts a sweep must read', () => {
  const seen = [
    part('labels', 'all', 1, 4),
    part('labels', 'all', 6, 10),
    part('prediction_lookup', 'all', 1, 3),
  ];

  it('skips parts whose block range lies inside a seen part of the same table and partition', () => {
    // A merge of seen parts, and a seen part itself.
    expect(unseenParts([part('labels', 'all', 2, 4), part('labels', 'all', 6, 10)], seen)).toEqual([]);
  });

  it('reads inserts past the seen ranges and inserts that committed into a gap', () => {
    const later = part('labels', 'all', 11, 11);
    const gap = part('labels', 'all', 5, 5);
    expect(unseenParts([later, gap], seen)).toEqual([later, gap]);
  });

  it('skips a merge of seen parts that touch (OPTIMIZE after a sweep)', () => {
    const touching = [part('labels', 'all', 1, 1), part('labels', 'all', 2, 2), part('labels', 'all', 3, 7)];
    expect(unseenParts([part('labels', 'all', 1, 7)], touching)).toEqual([]);
    expect(unseenParts([part('labels', 'all', 1, 8)], touching)).toEqual([part('labels', 'all', 1, 8)]);
  });

  it('reads a merge across a gap (it holds rows committed after the sweep)', () => {
    const merged = part('labels', 'all', 1, 10);
    expect(unseenParts([merged], seen)).toEqual([merged]);
  });

  it('keeps tables and partitions apart', () => {
    const otherTable = part('prediction_lookup', 'all', 6, 6);
    const otherPartition = part('labels', '202605', 2, 2);
    expect(unseenParts([otherTable, otherPartition], seen)).toEqual([otherTable, otherPartition]);
  });

  it('reads everything when nothing was seen', () => {
    const parts = [part('labels', 'all', 1, 1)];
    expect(unseenParts(parts, [])).toEqual(parts);
  });
});

describe('sweepSlices: how many slices a sweep is cut into', () => {
  it('keeps each slice at or under the slice size', () => {
    expect(sweepSlices(0, 100)).toBe(1);
    expect(sweepSlices(100, 100)).toBe(1);
    expect(sweepSlices(101, 100)).toBe(2);
    expect(sweepSlices(3_000_000)).toBe(12);
  });

  it('refuses a slice size under one label', () => {
    expect(() => sweepSlices(10, 0)).toThrow(RangeError);
    expect(() => sweepSlices(10, Number.NaN)).toThrow(RangeError);
  });
});

describe('sliceRanges: the id ranges of a sliced sweep', () => {
  const covering = (ranges: { lo: string; hi: string }[], id: string) =>
    ranges.filter((r) => id >= r.lo && (r.hi === '' || id < r.hi)).length;

  it('cuts at each bound, from below every id to no upper end', () => {
    expect(sliceRanges(['b', 'd'])).toEqual([
      { lo: '', hi: 'b' },
      { lo: 'b', hi: 'd' },
      { lo: 'd', hi: '' },
    ]);
    expect(sliceRanges([])).toEqual([{ lo: '', hi: '' }]);
  });

  it('drops empty and repeated bounds, so no range is empty or unbounded by mistake', () => {
    expect(sliceRanges(['', 'a', 'a', 'c', 'c'])).toEqual([
      { lo: '', hi: 'a' },
      { lo: 'a', hi: 'c' },
      { lo: 'c', hi: '' },
    ]);
  });

  it('puts every id in exactly one range (ASCII ids, where both orders agree)', () => {
    const ranges = sliceRanges(['p-17', 'p-3', 'p-52']);
    for (const id of ['', 'a', 'p-1', 'p-17', 'p-2', 'p-3', 'p-30', 'p-52', 'p-99', 'z'])
      expect(covering(ranges, id)).toBe(1);
  });
});
