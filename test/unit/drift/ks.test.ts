import { describe, expect, it } from 'vitest';
import { KS_EXACT_MAX_N, kolmogorovSf, ksPValue, ksStatistic } from '../../../src/drift/statistics/index.js';
import { relErr, sample, sorted } from './samples.js';

const REL = 1e-9;

/**
 * D and p from `scipy.stats.ks_2samp(r, c, method="exact")` (SciPy 1.17.1) on the same data.
 * SciPy reports D after snapping it to h / lcm(nR, nC), which can differ from i/nR − j/nC in the last bit.
 */
function expectKs(r: ArrayLike<number>, c: ArrayLike<number>, d: number, p: number): void {
  const sr = sorted(r);
  const sc = sorted(c);
  const stat = ksStatistic(sr, sc);
  expect(relErr(stat, d)).toBeLessThan(1e-14);
  expect(relErr(ksPValue(stat, sr.length, sc.length), p)).toBeLessThan(REL);
}

describe('ksStatistic + ksPValue (exact, as ks_2samp(method="exact"))', () => {
  it('textbook: disjoint samples of 5 give D = 1 and p = 2 / C(10, 5)', () => {
    expectKs([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 1, 2 / 252);
  });

  it('small unequal samples with ties evaluate both ECDFs at every sample point', () => {
    // ks_2samp([1,2,2,3,3,3,4], [2,3,3,5,5], method="exact") -> (0.4, 0.6388888888888888)
    expectKs([1, 2, 2, 3, 3, 3, 4], [2, 3, 3, 5, 5], 0.4, 0.6388888888888888);
  });

  it('equal sizes (50 vs 50)', () => {
    // ks_2samp(sample(50, 1), sample(50, 2, loc=0.5), method="exact")
    expectKs(sample(50, 1), sample(50, 2, 0.5), 0.28, 0.039194586195352224);
  });

  it('unequal sizes near 5000 (5000 vs 4000)', () => {
    // ks_2samp(sample(5000, 11), sample(4000, 22, loc=0.05), method="exact")
    expectKs(sample(5000, 11), sample(4000, 22, 0.05), 0.03385, 0.012011513779421341);
  });

  it('equal sizes with heavy ties (5000 vs 5000 on a 0.25 grid)', () => {
    // ks_2samp(sample(5000, 33, step=0.25), sample(5000, 44, loc=0.1, step=0.25), method="exact")
    expectKs(sample(5000, 33, 0, 1, 0.25), sample(5000, 44, 0.1, 1, 0.25), 0.0424, 0.0002491517490183364);
  });

  it('largest exact size (10000 vs 7000)', () => {
    // ks_2samp(sample(10000, 77), sample(7000, 88, loc=0.03), method="exact")
    expectKs(sample(10000, 77), sample(7000, 88, 0.03), 0.011457142857142857, 0.6472888699609588);
  });

  it('identical constant samples: D = 0, p = 1', () => {
    const r = new Float64Array(30).fill(4.2);
    const c = new Float64Array(17).fill(4.2);
    expect(ksStatistic(r, c)).toBe(0);
    expect(ksPValue(0, 30, 17)).toBe(1);
  });
});

describe('ksPValue on sufficient statistics (d, nR, nC)', () => {
  // scipy.stats._stats_py._attempt_exact_2kssamp(m, n, gcd(m, n), d, "two-sided")[2]
  const cases: [number, number, number, number][] = [
    [0.5, 3, 5, 0.4642857142857143],
    [0.3, 20, 30, 0.20235672077103806],
    [7 / 60, 12, 15, 0.9997643791424919],
    [0.11, 200, 300, 0.10406407399422825],
    [0.0123, 10000, 10000, 0.43585275359069964],
    [0.05, 1000, 1000, 0.16411447756429137],
    [0.2, 1000, 1000, 6.6131216618004355e-18],
    [0.04, 997, 1000, 0.3863415726436693],
    [0.6, 40, 1, 0.8292682926829268],
    [0.015, 10000, 9999, 0.2074101052530087],
    [0.02, 5000, 3000, 0.4362259369528806],
    [0.0153, 9973, 10000, 0.1900642126585005],
  ];
  it.each(cases)('d=%f, nR=%i, nC=%i', (d, nR, nC, p) => {
    expect(relErr(ksPValue(d, nR, nC), p)).toBeLessThan(REL);
    expect(relErr(ksPValue(d, nC, nR), p)).toBeLessThan(REL);
  });

  it('snaps d to the lattice h / lcm(nR, nC), so a D with rounding error gives the same p', () => {
    expect(ksPValue(0.3 + 1e-12, 20, 30)).toBe(ksPValue(0.3, 20, 30));
    expect(ksPValue(0.3 - 1e-12, 20, 30)).toBe(ksPValue(0.3, 20, 30));
    // h = round(d·lcm) = 0 → p = 1
    expect(ksPValue(1e-6, 20, 30)).toBe(1);
  });

  it('where SciPy’s exact sum rounds above 1 and it falls back to kstwo, returns the exact value (1)', () => {
    // ks_2samp([0,2,…,12], [1,3,…,13], method="exact") warns "Exact calculation unsuccessful" and
    // returns kstwo.sf(1/7, 4) = 0.9999609537692629; P(D_{7,7} ≥ 1/7) is exactly 1.
    expect(ksPValue(1 / 7, 7, 7)).toBe(1);
  });

  it('uses kstwobign above 10000: Q(sqrt(nR·nC/(nR+nC))·d)', () => {
    // scipy.stats.kstwobign.sf(sqrt(m*n/(m+n))*d)
    const cases: [number, number, number, number][] = [
      [0.01, 20000, 30000, 0.18130044993812258],
      [0.003, 200000, 150000, 0.4233642794358531],
      [0.02, 10001, 10001, 0.03661640348594451],
      [0.5, 10001, 50, 3.145424754938689e-11],
    ];
    for (const [d, m, n, p] of cases) expect(relErr(ksPValue(d, m, n), p)).toBeLessThan(REL);
    expect(KS_EXACT_MAX_N).toBe(10000);
  });

  it('asymptotic path on samples (12000 vs 9000)', () => {
    // D = ks_2samp(sample(12000, 55), sample(9000, 66, loc=0.03)).statistic;
    // p = kstwobign.sf(sqrt(12000*9000/21000)*D)
    const d = ksStatistic(sorted(sample(12000, 55)), sorted(sample(9000, 66, 0.03)));
    expect(relErr(d, 0.022777777777777786)).toBeLessThan(1e-15);
    expect(relErr(ksPValue(d, 12000, 9000), 0.00962529386913207)).toBeLessThan(REL);
  });

  it('rejects invalid sizes and d', () => {
    expect(() => ksPValue(0.1, 0, 5)).toThrow(RangeError);
    expect(() => ksPValue(0.1, 2.5, 5)).toThrow(RangeError);
    expect(() => ksPValue(1.5, 5, 5)).toThrow(RangeError);
    expect(() => ksPValue(Number.NaN, 5, 5)).toThrow(RangeError);
    expect(ksPValue(1 + 1e-15, 5, 5)).toBe(ksPValue(1, 5, 5));
  });
});

describe('kolmogorovSf (kstwobign.sf)', () => {
  // scipy.stats.kstwobign.sf(x)
  const cases: [number, number][] = [
    [0.05, 1.0],
    [0.3, 0.9999906941986655],
    [0.5, 0.9639452436648751],
    [0.82, 0.5119717052984973],
    [0.83, 0.4961909953505036],
    [1.0, 0.26999967167735456],
    [1.36, 0.049485876755377876],
    [2.0, 0.0006709252557796953],
    [3.5, 4.579469691291106e-11],
    [6.0, 1.0760372320042276e-31],
  ];
  it.each(cases)('Q(%f)', (x, p) => {
    expect(relErr(kolmogorovSf(x), p)).toBeLessThan(1e-12);
  });
});

describe('ksStatistic input checks', () => {
  it('rejects unsorted and non-finite samples', () => {
    expect(() => ksStatistic(Float64Array.of(2, 1), Float64Array.of(1))).toThrow(RangeError);
    expect(() => ksStatistic(Float64Array.of(1, Number.NaN), Float64Array.of(1))).toThrow(RangeError);
    expect(() => ksStatistic(Float64Array.of(1), Float64Array.of(Infinity))).toThrow(RangeError);
  });
});
