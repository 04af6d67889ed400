/**
 * The KS and W1 walks were rewritten for speed (the KS walk stops once a sample is used up, the
 * W1 walk steps one element at a time without a data-dependent branch). These properties pin
 * them to the straightforward walks over distinct values that they replaced, bit for bit.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ksStatistic, wassersteinDistance } from '../../../src/drift/statistics/index.js';

/** The walk over distinct values that `ksStatistic` used before. */
function ksByDistinctValues(r: Float64Array, c: Float64Array): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < r.length || j < c.length) {
    const x = Math.min(i < r.length ? r[i]! : Infinity, j < c.length ? c[j]! : Infinity);
    while (i < r.length && r[i]! <= x) i++;
    while (j < c.length && c[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / r.length - j / c.length));
  }
  return d;
}

/** The walk over distinct values that `wassersteinDistance` used before. */
function w1ByDistinctValues(r: Float64Array, c: Float64Array): number {
  let i = 0;
  let j = 0;
  let sum = 0;
  let x = Math.min(r[0]!, c[0]!);
  for (;;) {
    while (i < r.length && r[i]! <= x) i++;
    while (j < c.length && c[j]! <= x) j++;
    if (i === r.length && j === c.length) return sum;
    const next = Math.min(i < r.length ? r[i]! : Infinity, j < c.length ? c[j]! : Infinity);
    sum += Math.abs(i / r.length - j / c.length) * (next - x);
    x = next;
  }
}

/** Values from a small pool (so ties across and within samples are common, ±0 included) or any double. */
const value = fc.oneof(
  fc.constantFrom(-2.5, -1, -0, 0, 0.1, 0.30000000000000004, 1, 1e-300, 7),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
);
const sample = fc
  .array(value, { minLength: 1, maxLength: 60 })
  .map((values) => Float64Array.from(values).sort());

describe('fast KS and W1 walks', () => {
  it('KS D is bit-identical to the walk over distinct values', () => {
    fc.assert(
      fc.property(sample, sample, (r, c) => {
        expect(Object.is(ksStatistic(r, c), ksByDistinctValues(r, c))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('W1 is bit-identical to the walk over distinct values', () => {
    fc.assert(
      fc.property(sample, sample, (r, c) => {
        expect(Object.is(wassersteinDistance(r, c), w1ByDistinctValues(r, c))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('a sample used up inside a run of ties, ±0 across the samples, one-value samples', () => {
    const cases: [number[], number[]][] = [
      [
        [1, 2, 2],
        [2, 2, 2, 3],
      ],
      [
        [2, 2, 2, 3],
        [1, 2, 2],
      ],
      [
        [-0, 0, 1],
        [0, -0],
      ],
      [[5], [5]],
      [[5], [1, 9]],
      [[1, 1, 1], [1]],
    ];
    for (const [r, c] of cases) {
      const [sr, sc] = [Float64Array.from(r).sort(), Float64Array.from(c).sort()];
      expect(Object.is(ksStatistic(sr, sc), ksByDistinctValues(sr, sc))).toBe(true);
      expect(Object.is(wassersteinDistance(sr, sc), w1ByDistinctValues(sr, sc))).toBe(true);
    }
    // At 1: F_R = 1/3, F_C = 0; at 2 (R used up there, C not): 1 and 3/4; at 3 both are 1.
    expect(ksStatistic(Float64Array.of(1, 2, 2), Float64Array.of(2, 2, 2, 3))).toBe(1 / 3);
  });

  it('large continuous samples of unequal sizes, and heavy ties', () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const continuous = (n: number, shift: number) =>
      Float64Array.from({ length: n }, () => rnd() + rnd() + shift).sort();
    const tied = (n: number) => Float64Array.from({ length: n }, () => Math.floor(rnd() * 50)).sort();
    for (const [r, c] of [
      [continuous(200_000, 0), continuous(150_001, 0.05)],
      [tied(120_000), tied(90_000)],
    ] as const) {
      expect(ksStatistic(r, c)).toBe(ksByDistinctValues(r, c));
      expect(wassersteinDistance(r, c)).toBe(w1ByDistinctValues(r, c));
    }
  });
});
