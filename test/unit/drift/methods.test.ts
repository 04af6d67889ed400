import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  columnKind,
  datasetDrift,
  inferKind,
  isDrifted,
  resolveMethod,
} from '../../../src/drift/statistics/index.js';

describe('column kind', () => {
  it('strings and booleans are categorical', () => {
    expect(columnKind(['a', 'b', null])).toBe('categorical');
    expect(columnKind([true, false, undefined])).toBe('categorical');
    expect(columnKind([1, 2, 'x'])).toBe('categorical');
  });

  it('a numeric column is categorical up to 20 distinct reference values, numerical above', () => {
    const twenty = Array.from({ length: 200 }, (_, i) => i % 20);
    const twentyOne = Array.from({ length: 200 }, (_, i) => i % 21);
    expect(columnKind(twenty)).toBe('categorical');
    expect(columnKind(twentyOne)).toBe('numerical');
    expect(columnKind([...twenty, null, Number.NaN])).toBe('categorical');
    expect(columnKind(Array.from({ length: 21 }, (_, i) => BigInt(i)))).toBe('numerical');
    expect(inferKind(20, true)).toBe('categorical');
    expect(inferKind(21, true)).toBe('numerical');
    expect(inferKind(500, false)).toBe('categorical');
  });

  it('an all-null column is categorical; unsupported values throw', () => {
    expect(columnKind([null, undefined])).toBe('categorical');
    expect(() => columnKind([{}])).toThrow(TypeError);
  });
});

describe('resolveMethod', () => {
  it('auto: ks / chi2 up to 1000 reference rows, wasserstein / jensenshannon above', () => {
    expect(resolveMethod('auto', 'numerical', 1000)).toBe('ks');
    expect(resolveMethod('auto', 'numerical', 1001)).toBe('wasserstein');
    expect(resolveMethod('auto', 'categorical', 1000)).toBe('chi2');
    expect(resolveMethod('auto', 'categorical', 1001)).toBe('jensenshannon');
  });

  it('keeps an explicit method that fits the kind and rejects one that does not', () => {
    expect(resolveMethod('psi', 'numerical', 5)).toBe('psi');
    expect(resolveMethod('psi', 'categorical', 5)).toBe('psi');
    expect(resolveMethod('jensenshannon', 'numerical', 5)).toBe('jensenshannon');
    expect(() => resolveMethod('ks', 'categorical', 5)).toThrow(RangeError);
    expect(() => resolveMethod('wasserstein', 'categorical', 5)).toThrow(RangeError);
    expect(() => resolveMethod('chi2', 'numerical', 5)).toThrow(RangeError);
  });
});

describe('isDrifted', () => {
  it('defaults', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({
      ks: 0.05,
      chi2: 0.05,
      wasserstein: 0.1,
      psi: 0.1,
      jensenshannon: 0.1,
    });
  });

  it('tests drift when p < threshold (strictly)', () => {
    expect(isDrifted('ks', 0.3, 0.049)).toBe(true);
    expect(isDrifted('ks', 0.3, 0.05)).toBe(false);
    expect(isDrifted('chi2', 12, 0.01, 0.005)).toBe(false);
    expect(isDrifted('chi2', null, 0)).toBe(true);
  });

  it('distances drift when statistic ≥ threshold', () => {
    expect(isDrifted('psi', 0.1, null)).toBe(true);
    expect(isDrifted('psi', 0.0999, null)).toBe(false);
    expect(isDrifted('wasserstein', 0.1, null)).toBe(true);
    expect(isDrifted('jensenshannon', 0.2, null, 0.25)).toBe(false);
  });

  it('no statistic is never drift', () => {
    expect(isDrifted('ks', null, null)).toBe(false);
    expect(isDrifted('psi', null, null)).toBe(false);
  });
});

describe('datasetDrift', () => {
  it('drifted when the share of drifted columns ≥ 0.5', () => {
    expect(datasetDrift([true, false])).toEqual({ share: 0.5, drifted: true });
    expect(datasetDrift([true, false, false])).toEqual({ share: 1 / 3, drifted: false });
    expect(datasetDrift([true, false, false], 0.3)).toEqual({ share: 1 / 3, drifted: true });
    expect(datasetDrift([])).toEqual({ share: 0, drifted: false });
  });
});
