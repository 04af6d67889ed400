import { describe, expect, it } from 'vitest';
import {
  alignCategoryCounts,
  categoricalDrift,
  ksReportedStatistic,
  ksStatistic,
  numericalDrift,
  numericalReference,
  resolveMethod,
  toSortedFinite,
} from '../../../src/drift/statistics/index.js';
import { relErr, sample, sorted } from './samples.js';

describe('toSortedFinite', () => {
  it('drops nulls silently and NaN / ±Infinity with a count, and sorts', () => {
    const s = toSortedFinite([3, null, Number.NaN, -1, Infinity, undefined, -Infinity, 0]);
    expect(Array.from(s.sorted)).toEqual([-1, 0, 3]);
    expect(s.nonFinite).toBe(3);
  });
});

describe('numericalDrift', () => {
  const ref = numericalReference(sorted(sample(800, 101)));
  const cur = sorted(sample(600, 102, 0.15));

  it('auto on a small reference runs the exact KS test', () => {
    const method = resolveMethod('auto', 'numerical', ref.sorted.length);
    const r = numericalDrift(method, ref, cur);
    // ks_2samp(sample(800, 101), sample(600, 102, loc=0.15), method="exact")
    expect(r.method).toBe('ks');
    expect(relErr(r.statistic ?? NaN, 0.06833333333333333)).toBeLessThan(1e-14);
    expect(relErr(r.pValue ?? NaN, 0.07815650690527168)).toBeLessThan(1e-9);
    expect(r.drifted).toBe(false);
    expect(numericalDrift('ks', ref, cur, 0.08).drifted).toBe(true);
  });

  it('reports KS D as SciPy does: the lattice value on the exact path, the walk’s value above it', () => {
    // ks_2samp(range(1, 11), range(3, 13), method="exact").statistic == 0.2; the walk gives 8/10 - 6/10.
    const r = numericalReference(Float64Array.from({ length: 10 }, (_, i) => i + 1));
    const c = Float64Array.from({ length: 10 }, (_, i) => i + 3);
    expect(ksStatistic(r.sorted, c)).toBe(0.20000000000000007);
    expect(numericalDrift('ks', r, c).statistic).toBe(0.2);
    expect(ksReportedStatistic(0.20000000000000007, 10_001, 10)).toBe(0.20000000000000007);
  });

  it('wasserstein, psi and jensenshannon use the reference’s std and bins', () => {
    // wasserstein_distance(r, c) / np.std(r)
    const w = numericalDrift('wasserstein', ref, cur);
    expect(relErr(w.statistic ?? NaN, 0.1258339799079324)).toBeLessThan(1e-9);
    expect(w.pValue).toBeNull();
    expect(w.drifted).toBe(true);
    // psi / jensenshannon over np.unique(np.quantile(r, q)) bins, as in divergence.test.ts
    expect(relErr(numericalDrift('psi', ref, cur).statistic ?? NaN, 0.031341869742993876)).toBeLessThan(
      1e-12,
    );
    expect(
      relErr(numericalDrift('jensenshannon', ref, cur).statistic ?? NaN, 0.06250476158856655),
    ).toBeLessThan(1e-12);
  });

  it('an empty window or an empty reference gives no statistic and no drift', () => {
    for (const m of ['ks', 'wasserstein', 'psi', 'jensenshannon'] as const) {
      expect(numericalDrift(m, ref, new Float64Array(0))).toMatchObject({
        statistic: null,
        pValue: null,
        drifted: false,
      });
      expect(numericalDrift(m, numericalReference(new Float64Array(0)), cur)).toMatchObject({
        statistic: null,
        pValue: null,
        drifted: false,
      });
    }
  });

  it('constant columns: identical constants do not drift, a shifted constant does', () => {
    const constRef = numericalReference(new Float64Array(50).fill(2));
    const same = new Float64Array(20).fill(2);
    const shifted = new Float64Array(20).fill(2.5);
    expect(numericalDrift('ks', constRef, same)).toMatchObject({ statistic: 0, pValue: 1, drifted: false });
    expect(numericalDrift('wasserstein', constRef, same)).toMatchObject({ statistic: 0, drifted: false });
    expect(numericalDrift('psi', constRef, same)).toMatchObject({ statistic: 0, drifted: false });
    // W1 = 0.5 over the 0.001 floor
    expect(numericalDrift('wasserstein', constRef, shifted).statistic).toBeCloseTo(500, 9);
    // ks_2samp([2]*50, [2.5]*20, method="exact") -> (1.0, 1.235447939303534e-17)
    const ks = numericalDrift('ks', constRef, shifted);
    expect(ks.statistic).toBe(1);
    expect(relErr(ks.pValue ?? NaN, 1.235447939303534e-17)).toBeLessThan(1e-9);
    expect(ks.drifted).toBe(true);
  });

  it('rejects categorical-only methods', () => {
    expect(() => numericalDrift('chi2', ref, cur)).toThrow(RangeError);
  });
});

describe('categoricalDrift', () => {
  const aligned = alignCategoryCounts(
    new Map([
      ['a', 50],
      ['b', 30],
      ['c', 20],
    ]),
    new Map([
      ['a', 40],
      ['b', 35],
      ['c', 25],
    ]),
  );

  it('chi2 on aligned counts', () => {
    const r = categoricalDrift('chi2', aligned.ref, aligned.cur);
    // chisquare([40, 35, 25], [50, 30, 20]) -> (4.083333333333334, 0.12981217685543797)
    expect(relErr(r.statistic ?? NaN, 4.083333333333334)).toBeLessThan(1e-14);
    expect(relErr(r.pValue ?? NaN, 0.12981217685543797)).toBeLessThan(1e-12);
    expect(r.drifted).toBe(false);
  });

  it('a new category in C: χ² = ∞ → null statistic, p = 0, drifted', () => {
    const r = categoricalDrift('chi2', [10, 20, 0], [10, 20, 1]);
    expect(r).toMatchObject({ statistic: null, pValue: 0, drifted: true });
  });

  it('a single category in both: χ² = 0, p = 1, not drifted', () => {
    expect(categoricalDrift('chi2', [12], [5])).toMatchObject({ statistic: 0, pValue: 1, drifted: false });
  });

  it('psi and jensenshannon on categories', () => {
    expect(
      relErr(categoricalDrift('psi', [10, 0, 30, 60], [0, 5, 15, 30]).statistic ?? NaN, 1.380169504740631),
    ).toBeLessThan(1e-12);
    const js = categoricalDrift('jensenshannon', [10, 0, 30, 60], [0, 5, 15, 30]);
    expect(relErr(js.statistic ?? NaN, 0.26327688477341593)).toBeLessThan(1e-12);
    expect(js.drifted).toBe(true);
  });

  it('an empty (all-null) window or reference gives no statistic and no drift', () => {
    for (const m of ['chi2', 'psi', 'jensenshannon'] as const) {
      expect(categoricalDrift(m, [3, 4], [0, 0])).toMatchObject({
        statistic: null,
        pValue: null,
        drifted: false,
      });
      expect(categoricalDrift(m, [0, 0], [3, 4])).toMatchObject({
        statistic: null,
        pValue: null,
        drifted: false,
      });
    }
  });

  it('rejects numerical-only methods', () => {
    expect(() => categoricalDrift('ks', [1], [1])).toThrow(RangeError);
  });
});
