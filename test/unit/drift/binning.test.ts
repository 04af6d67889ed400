import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  alignCategoryCounts,
  binCounts,
  binCountsSorted,
  binIndex,
  quantileEdges,
  quantileLinear,
} from '../../../src/drift/statistics/index.js';
import { sample, sorted } from './samples.js';

/** Expected edges: np.unique(np.quantile(r, [0.1, 0.2, …, 0.9])) (NumPy 2.4.6, method="linear"). */
describe('quantileEdges', () => {
  it('distinct values: the nine deciles, bit for bit', () => {
    expect(quantileEdges(sorted(sample(1001, 12)))).toEqual([
      -1.2988563078915965, -0.8295265146668669, -0.49002036847640795, -0.23105265071198922,
      0.07449611047026483, 0.3005308668597291, 0.5565221056139666, 0.8694307556699181, 1.24222026497229,
    ]);
  });

  it('interpolates linearly between order statistics (NumPy’s two-sided lerp)', () => {
    expect(quantileEdges(Float64Array.of(0.3, 1.7, 2.2, 2.2, 5.9, 8.1, 9.4))).toEqual([
      1.1400000000000001, 1.8, 2.1, 2.2, 4.419999999999999, 6.339999999999999, 7.660000000000001,
      8.620000000000001,
    ]);
    expect(quantileEdges(Float64Array.of(0, 1, 10))).toEqual([
      0.2, 0.4, 0.6, 0.8, 1.0, 2.8, 4.6, 6.4, 8.200000000000001,
    ]);
    expect(quantileEdges(Float64Array.from({ length: 11 }, (_, i) => i))).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(quantileEdges(Float64Array.of(1, 2))).toEqual([1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9]);
  });

  it('merges duplicate edges from heavy ties', () => {
    const heavy = Float64Array.from([
      ...Array<number>(50).fill(1),
      ...Array<number>(30).fill(2),
      ...Array<number>(15).fill(3),
      ...Array<number>(5).fill(4),
    ]);
    expect(quantileEdges(heavy)).toEqual([1.0, 1.5, 2.0, 2.200000000000003, 3.0]);
  });

  it('a single value (or a constant column) gives one edge', () => {
    expect(quantileEdges(Float64Array.of(3.5))).toEqual([3.5]);
    expect(quantileEdges(new Float64Array(40).fill(-2))).toEqual([-2]);
  });

  it('quantileLinear endpoints and checks', () => {
    const s = Float64Array.of(1, 2, 4);
    expect(quantileLinear(s, 0)).toBe(1);
    expect(quantileLinear(s, 1)).toBe(4);
    expect(quantileLinear(s, 0.75)).toBe(3);
    expect(() => quantileLinear(new Float64Array(0), 0.5)).toThrow(RangeError);
    expect(() => quantileLinear(s, 1.5)).toThrow(RangeError);
  });

  it('neighbours more than the largest double apart give finite edges (review 26, finding 5)', () => {
    // b − a = ∞ made the edges ±∞ and NaN; the lerp on halves, doubled, is the same lerp.
    // ±1.5 × 2^1023 (±1.35e308): the edges of ±1.5, × 2^1023 bit for bit.
    const edges = quantileEdges(Float64Array.of(-1.5 * 2 ** 1023, 1.5 * 2 ** 1023));
    expect(edges).toEqual(quantileEdges(Float64Array.of(-1.5, 1.5)).map((e) => e * 2 ** 1023));
    expect(quantileLinear(Float64Array.of(-1.7e308, 1.7e308), 0.5)).toBe(0);
  });
});

describe('binIndex / binCounts: right-open bins [e_i, e_{i+1})', () => {
  const edges = [1.0, 1.5, 2.0, 2.200000000000003, 3.0];
  it('a value equal to an edge falls in the bin above it (np.searchsorted(edges, v, side="right"))', () => {
    const values = [0.5, 1.0, 1.5, 2.0, 2.9999, 3.0, 4.0, 100.0, -Infinity, Infinity];
    // np.searchsorted(edges, values, side="right") == np.digitize(values, edges)
    expect(values.map((v) => binIndex(edges, v))).toEqual([0, 1, 2, 3, 4, 5, 5, 5, 0, 5]);
  });

  it('just below an edge stays in the bin below', () => {
    expect(binIndex(edges, 1.5 - 2 ** -52)).toBe(1);
    expect(binIndex(edges, 2.2)).toBe(3);
    expect(binIndex([], 7)).toBe(0);
  });

  it('counts per bin', () => {
    expect(binCounts(edges, [0, 1, 1, 1.2, 1.5, 3, 9])).toEqual([1, 3, 1, 0, 0, 2]);
    expect(binCounts([], [1, 2])).toEqual([2]);
  });

  it('rejects NaN', () => {
    expect(() => binIndex(edges, Number.NaN)).toThrow(RangeError);
  });
});

describe('alignCategoryCounts', () => {
  it('aligns on the categories of R ∪ C, 0 where a side lacks one, skipping all-zero categories', () => {
    const ref = new Map([
      ['b', 5],
      ['a', 3],
      ['z', 0],
    ]);
    const cur = new Map([
      ['c', 2],
      ['a', 4],
    ]);
    expect(alignCategoryCounts(ref, cur)).toEqual({
      categories: ['a', 'b', 'c'],
      ref: [3, 5, 0],
      cur: [4, 0, 2],
    });
  });
});

describe('binCountsSorted', () => {
  it('gives the counts of binCounts for sorted values, ties on the edges included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: -6, max: 6 }), { maxLength: 9 }),
        (values, rawEdges) => {
          const sorted = Float64Array.from(values.map((v) => v / 2)).sort();
          const edges = [...new Set(rawEdges.map((e) => e / 2))].sort((a, b) => a - b);
          expect(binCountsSorted(edges, sorted)).toEqual(binCounts(edges, sorted));
        },
      ),
    );
    expect(binCountsSorted([1, 1.5], Float64Array.from([0, 1, 1, 1.2, 1.5, 3]))).toEqual([1, 3, 2]);
  });
});
