/**
 * PSI and JS from unsorted window values (the read skips the engine's sort for them) must equal
 * the results from the sorted values, bit for bit: the bin counts are the same integers.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  binCounts,
  binCountsSorted,
  binCountsUnsorted,
  binnedDrift,
  numericalDrift,
  numericalReference,
  quantileEdges,
} from '../../../src/drift/statistics/index.js';
import { sample, sorted } from './samples.js';

const value = fc.oneof(
  fc.constantFrom(-2.5, -1, -0, 0, 0.1, 0.30000000000000004, 1, 1e-300, 7),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
  fc.constantFrom(Infinity, -Infinity),
);
const values = fc.array(value, { minLength: 1, maxLength: 80 }).map((v) => Float64Array.from(v));
const finiteSample = fc
  .array(fc.oneof(fc.constantFrom(-1, -0, 0, 0.5, 3), fc.double({ noNaN: true, noDefaultInfinity: true })), {
    minLength: 1,
    maxLength: 80,
  })
  .map((v) => Float64Array.from(v).sort());

describe('bin counts of unsorted values', () => {
  it('equal the binary-search counts and the sorted counts, with ties on edges and ±0', () => {
    fc.assert(
      fc.property(finiteSample, values, (ref, cur) => {
        const edges = quantileEdges(ref);
        const counts = binCountsUnsorted(edges, cur);
        expect(counts).toEqual(binCounts(edges, cur));
        expect(counts).toEqual(binCountsSorted(edges, Float64Array.from(cur).sort()));
      }),
      { numRuns: 3000 },
    );
  });

  it('equal the binary-search counts for any ascending edges, up to nine written out and more looped', () => {
    const edges = fc.array(value, { maxLength: 14 }).map((e) => [...e].sort((x, y) => x - y));
    fc.assert(
      fc.property(edges, values, (e, cur) => {
        expect(binCountsUnsorted(e, cur)).toEqual(binCounts(e, cur));
      }),
      { numRuns: 3000 },
    );
    expect(binCountsUnsorted([1, 2], Float64Array.from([-Infinity, 1, 1.5, 2, Infinity]))).toEqual([1, 2, 2]);
    const ten = Array.from({ length: 10 }, (_, k) => k);
    expect(binCountsUnsorted(ten, Float64Array.from([-1, 0, 4.5, 9, 10]))).toEqual([
      1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 2,
    ]);
  });

  it('with no edges every value is in the one bin', () => {
    expect(binCountsUnsorted([], Float64Array.from([3, -1, 2]))).toEqual([3]);
  });
});

describe('PSI and JS from unsorted values', () => {
  const ref = numericalReference(sorted(sample(20_000, 5)));
  it.each([
    ['shifted', sample(15_000, 6, 0.2)],
    ['ties', sample(15_000, 7, 0, 1, 0.5)],
    ['same', sample(15_000, 8)],
  ])('%s: the same result as from the sorted values, bit for bit', (_, cur) => {
    for (const method of ['psi', 'jensenshannon'] as const) {
      const fromSorted = numericalDrift(method, ref, sorted(cur), 0.1);
      const fromUnsorted = binnedDrift(method, ref, cur, 0.1);
      expect(Object.is(fromUnsorted.statistic, fromSorted.statistic)).toBe(true);
      expect(fromUnsorted).toEqual(fromSorted);
      expect(fromSorted.statistic).not.toBeNull();
    }
  });

  it('an empty side gives no statistic, as from sorted values', () => {
    const empty = new Float64Array(0);
    expect(binnedDrift('psi', ref, empty)).toEqual(numericalDrift('psi', ref, empty));
    const none = numericalReference(empty);
    expect(binnedDrift('jensenshannon', none, sample(10, 1))).toEqual(
      numericalDrift('jensenshannon', none, sorted(sample(10, 1))),
    );
  });
});
