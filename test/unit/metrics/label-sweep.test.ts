import { describe, expect, it } from 'vitest';
import { sweepSlices, unseenParts, type SweptPart } from '../../../src/metrics/label-sweep.js';

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
