import { describe, expect, it } from 'vitest';
import {
  WASSERSTEIN_MIN_STD,
  normalizedWasserstein,
  populationStd,
  wassersteinDistance,
} from '../../../src/drift/statistics/index.js';
import { relErr, sample, sorted } from './samples.js';

describe('wassersteinDistance (scipy.stats.wasserstein_distance)', () => {
  it('SciPy documentation examples', () => {
    // wasserstein_distance([0, 1, 3], [5, 6, 8]) -> 5.0
    expect(relErr(wassersteinDistance(Float64Array.of(0, 1, 3), Float64Array.of(5, 6, 8)), 5)).toBeLessThan(
      1e-15,
    );
    // wasserstein_distance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]) -> 2.7
    const w = wassersteinDistance(Float64Array.of(3.4, 3.9, 7.5, 7.8), Float64Array.of(1.4, 4.5));
    expect(relErr(w, 2.7)).toBeLessThan(1e-12);
  });

  it('samples of different sizes and spreads, and the ddof = 0 normalisation', () => {
    const r = sorted(sample(3000, 7));
    const c = sorted(sample(2000, 8, 0.2, 1.3));
    // wasserstein_distance(r, c); np.std(r); their ratio
    expect(relErr(wassersteinDistance(r, c), 0.3118047117613201)).toBeLessThan(1e-9);
    expect(relErr(populationStd(r), 1.0101681426978664)).toBeLessThan(1e-12);
    expect(relErr(normalizedWasserstein(r, c), 0.30866615029907796)).toBeLessThan(1e-9);
  });

  it('samples with ties', () => {
    const r = sorted(sample(4000, 9, 0, 1, 0.5));
    const c = sorted(sample(3500, 10, 0.25, 1, 0.5));
    // wasserstein_distance(r, c), np.std(r)
    expect(relErr(wassersteinDistance(r, c), 0.26060714285714265)).toBeLessThan(1e-9);
    expect(relErr(populationStd(r), 0.9897016911675962)).toBeLessThan(1e-12);
  });

  it('is symmetric and zero for identical samples', () => {
    const r = sorted(sample(500, 3));
    const c = sorted(sample(400, 4, 1));
    expect(wassersteinDistance(r, c)).toBeCloseTo(wassersteinDistance(c, r), 12);
    expect(wassersteinDistance(r, r)).toBe(0);
  });

  it('constant reference: std 0 is floored at 0.001', () => {
    const r = Float64Array.of(5, 5, 5);
    // wasserstein_distance([5,5,5], [6,6]) -> 1.0, np.std([5,5,5]) -> 0.0
    expect(wassersteinDistance(r, Float64Array.of(6, 6))).toBe(1);
    expect(populationStd(r)).toBe(0);
    expect(WASSERSTEIN_MIN_STD).toBe(0.001);
    expect(normalizedWasserstein(r, Float64Array.of(6, 6))).toBeCloseTo(1000, 9);
    expect(normalizedWasserstein(r, Float64Array.of(5, 5))).toBe(0);
  });

  it('uses a supplied reference std instead of recomputing it', () => {
    expect(normalizedWasserstein(Float64Array.of(0, 1, 3), Float64Array.of(5, 6, 8), 2)).toBe(2.5);
  });

  it('rejects empty, unsorted and non-finite samples', () => {
    expect(() => wassersteinDistance(new Float64Array(0), Float64Array.of(1))).toThrow(RangeError);
    expect(() => wassersteinDistance(Float64Array.of(3, 1), Float64Array.of(1))).toThrow(RangeError);
    expect(() => wassersteinDistance(Float64Array.of(1, Infinity), Float64Array.of(1))).toThrow(RangeError);
    expect(() => populationStd([])).toThrow(RangeError);
  });
});

describe('magnitudes near the largest double (review 26, finding 5)', () => {
  const ordinary = Float64Array.from({ length: 40 }, (_, i) => Math.sin(i) * 3 + i / 7).sort();

  it('populationStd beyond 1e154 is the true std, not ∞ (an ∞ std made W1/std 0: no drift ever)', () => {
    // × 2^600 (~4e180) only moves exponents: the std is the ordinary one × 2^600, bit for bit.
    const big = ordinary.map((v) => v * 2 ** 600);
    expect(populationStd(big)).toBe(populationStd(ordinary) * 2 ** 600);
    // np.std(np.arange(1, 41) * 1e200) overflows; the std of 1..40 is sqrt((40² − 1) / 12).
    const large = Float64Array.from({ length: 40 }, (_, i) => (i + 1) * 1e200);
    expect(relErr(populationStd(large), Math.sqrt((40 ** 2 - 1) / 12) * 1e200)).toBeLessThan(1e-15);
    // A sum near the largest double overflowed too.
    expect(populationStd([1.7e308, 1.7e308, -1.7e308, -1.7e308])).toBe(1.7e308);
  });

  it('W1 over samples spanning ±1.7e308 is a number, not NaN (the route answered 500)', () => {
    const r = Float64Array.of(-1.7e308, 1.7e308);
    expect(normalizedWasserstein(r, r)).toBe(0);
    // W1 = ½ × 3.4e308 (half of R moves to the top), std(R) = 1.7e308.
    expect(normalizedWasserstein(r, Float64Array.of(1.7e308, 1.7e308))).toBe(1);
    // Within range nothing changes: the same quotient as W1 / std.
    expect(
      normalizedWasserstein(
        ordinary,
        ordinary.map((v) => v + 1),
      ),
    ).toBe(
      wassersteinDistance(
        ordinary,
        ordinary.map((v) => v + 1),
      ) / populationStd(ordinary),
    );
  });
});
