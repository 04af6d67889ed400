import { describe, expect, it } from 'vitest';
import {
  PSI_ZERO_PROPORTION,
  binCounts,
  jensenShannonDistance,
  psi,
  quantileEdges,
} from '../../../src/drift/statistics/index.js';
import { relErr, sample, sorted } from './samples.js';

/** psi reference: np.sum((pc - pr) * np.log(pc / pr)) after np.where(p == 0, 0.0001, p). */
describe('psi', () => {
  it('textbook: (0.25, 0.25, 0.5) → (0.5, 0.25, 0.25) gives 0.5·ln 2', () => {
    expect(relErr(psi([1, 1, 2], [2, 1, 1]), 0.34657359027997264)).toBeLessThan(1e-14);
    expect(relErr(psi([1, 1, 2], [2, 1, 1]), 0.5 * Math.LN2)).toBeLessThan(1e-14);
  });

  it('replaces zero proportions on either side by 0.0001 (categories only in R, only in C)', () => {
    expect(PSI_ZERO_PROPORTION).toBe(0.0001);
    expect(relErr(psi([10, 0, 30, 60], [0, 5, 15, 30]), 1.380169504740631)).toBeLessThan(1e-12);
  });

  it('identical distributions give 0', () => {
    expect(psi([3, 6, 9], [1, 2, 3])).toBe(0);
  });

  it('numerical column over reference-decile bins', () => {
    const r = sorted(sample(2000, 21));
    const c = sorted(sample(1500, 22, 0.3, 1.2));
    const edges = quantileEdges(r);
    const refCounts = binCounts(edges, r);
    const curCounts = binCounts(edges, c);
    // bins: np.searchsorted(np.unique(np.quantile(r, q)), v, side="right") counted with np.bincount
    expect(refCounts).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    expect(curCounts).toEqual([132, 107, 102, 117, 123, 120, 119, 152, 191, 337]);
    expect(relErr(psi(refCounts, curCounts), 0.1493782746854229)).toBeLessThan(1e-12);
    // scipy.spatial.distance.jensenshannon(refCounts, curCounts)
    expect(relErr(jensenShannonDistance(refCounts, curCounts), 0.1353384885637525)).toBeLessThan(1e-12);
  });

  it('rejects misaligned or empty counts', () => {
    expect(() => psi([1, 2], [1])).toThrow(RangeError);
    expect(() => psi([0, 0], [1, 1])).toThrow(RangeError);
    expect(() => psi([1, -1], [1, 1])).toThrow(RangeError);
  });
});

/** scipy.spatial.distance.jensenshannon(p, q) (natural log). */
describe('jensenShannonDistance', () => {
  it('disjoint supports reach the maximum sqrt(ln 2)', () => {
    // jensenshannon([1, 0, 0], [0, 1, 0]) -> 0.8325546111576977
    expect(relErr(jensenShannonDistance([1, 0, 0], [0, 1, 0]), 0.8325546111576977)).toBeLessThan(1e-14);
  });

  it('SciPy values, no zero replacement', () => {
    // jensenshannon([1.0, 0.0], [0.5, 0.5]) -> 0.464501404022459
    expect(relErr(jensenShannonDistance([2, 0], [1, 1]), 0.464501404022459)).toBeLessThan(1e-14);
    // jensenshannon([10, 0, 30, 60], [0, 5, 15, 30]) -> 0.26327688477341593
    expect(relErr(jensenShannonDistance([10, 0, 30, 60], [0, 5, 15, 30]), 0.26327688477341593)).toBeLessThan(
      1e-12,
    );
  });

  it('identical proportions give exactly 0', () => {
    expect(jensenShannonDistance([1, 2, 3], [10, 20, 30])).toBe(0);
  });
});
