import { describe, expect, it } from 'vitest';
import { chiSquare, chiSquareSf, regularizedGammaQ } from '../../../src/drift/statistics/index.js';
import { relErr, sample } from './samples.js';

/** Expected values: scipy.stats.chisquare(cur, ref * (cur.sum() / ref.sum())) (SciPy 1.17.1). */
describe('chiSquare', () => {
  it('textbook dice: chisquare([16, 18, 16, 14, 12, 12]) -> (2.0, 0.8491450360846096)', () => {
    const r = chiSquare([1, 1, 1, 1, 1, 1], [16, 18, 16, 14, 12, 12]);
    expect(r.statistic).not.toBeNull();
    expect(relErr(r.statistic ?? NaN, 2)).toBeLessThan(1e-14);
    expect(relErr(r.pValue, 0.8491450360846096)).toBeLessThan(1e-12);
    expect(r.dof).toBe(5);
  });

  it('expected counts are R scaled to n_C', () => {
    const r = chiSquare([50, 30, 20], [40, 35, 25]);
    expect(relErr(r.statistic ?? NaN, 4.083333333333334)).toBeLessThan(1e-14);
    expect(relErr(r.pValue, 0.12981217685543797)).toBeLessThan(1e-12);
  });

  it('a category present in R but absent from C contributes its expected count', () => {
    const r = chiSquare([120, 80, 5, 40], [30, 0, 3, 17]);
    expect(relErr(r.statistic ?? NaN, 30.972499999999997)).toBeLessThan(1e-13);
    expect(relErr(r.pValue, 8.614571763063723e-7)).toBeLessThan(1e-10);
  });

  it('a category absent from R gives χ² = ∞ (null) and p = 0', () => {
    expect(chiSquare([10, 20, 0], [10, 20, 1])).toEqual({ statistic: null, pValue: 0, dof: 2 });
  });

  it('skips categories that are zero on both sides', () => {
    const withEmpty = chiSquare([50, 0, 30, 20], [40, 0, 35, 25]);
    expect(withEmpty.dof).toBe(2);
    expect(withEmpty.pValue).toBe(chiSquare([50, 30, 20], [40, 35, 25]).pValue);
  });

  it('a single category (k = 1, 0 dof) gives χ² = 0 and p = 1 (SciPy: p = NaN)', () => {
    expect(chiSquare([7], [3])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });

  it('300 categories', () => {
    const ref = Array.from(sample(300, 31), (x) => 50 + (Math.floor((x + 6) * 1000) % 20));
    const cur = Array.from(sample(300, 32), (x) => 45 + (Math.floor((x + 6) * 1000) % 20));
    const r = chiSquare(ref, cur);
    expect(relErr(r.statistic ?? NaN, 339.908947348888)).toBeLessThan(1e-12);
    expect(relErr(r.pValue, 0.05164283866144969)).toBeLessThan(1e-10);
  });

  it('rejects misaligned, negative and empty counts', () => {
    expect(() => chiSquare([1, 2], [1])).toThrow(RangeError);
    expect(() => chiSquare([1, -2], [1, 1])).toThrow(RangeError);
    expect(() => chiSquare([0, 0], [1, 1])).toThrow(RangeError);
    expect(() => chiSquare([1, 1], [0, 0])).toThrow(RangeError);
  });
});

describe('chiSquareSf (scipy.stats.chi2.sf)', () => {
  const cases: [number, number, number][] = [
    [0.0, 1, 1.0],
    [0.5, 1, 0.47950012218695337],
    [3.841458820694124, 1, 0.04999999999999989],
    [2.0, 5, 0.8491450360846096],
    [10.0, 3, 0.01856613546304325],
    [150.0, 4, 2.035764090974152e-31],
    [1400.0, 4, 6.911633257175853e-302],
    [1000.0, 1000, 0.49405285382923964],
    [1100.0, 1000, 0.014614408126295192],
    [900.0, 1000, 0.9892827619087102],
    [12000.0, 10000, 1.1470065524601128e-40],
    [0.1, 30, 1.0],
    [52000.0, 50000, 2.129278045075357e-10],
  ];
  it.each(cases)('chi2.sf(%f, %i)', (x, dof, p) => {
    expect(relErr(chiSquareSf(x, dof), p)).toBeLessThan(1e-11);
  });

  it('limits and argument checks', () => {
    expect(chiSquareSf(Infinity, 3)).toBe(0);
    expect(() => chiSquareSf(1, 0)).toThrow(RangeError);
    expect(() => regularizedGammaQ(0, 1)).toThrow(RangeError);
    expect(() => regularizedGammaQ(1, -1)).toThrow(RangeError);
  });
});
