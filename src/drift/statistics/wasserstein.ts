import { assertNonEmpty, assertSortedFinite } from './validate.js';

/** Floor for the reference standard deviation, so a constant reference does not divide by zero. */
export const WASSERSTEIN_MIN_STD = 0.001;

/**
 * W1 = ∫ |F_R(x) − F_C(x)| dx between the two empirical distributions (SciPy
 * `wasserstein_distance` without weights): a merge walk over both sorted samples, adding
 * |F_R − F_C| × (gap to the next value) on each interval between consecutive values.
 */
export function wassersteinDistance(sortedR: Float64Array, sortedC: Float64Array): number {
  assertNonEmpty(sortedR, 'sortedR');
  assertNonEmpty(sortedC, 'sortedC');
  assertSortedFinite(sortedR, 'sortedR');
  assertSortedFinite(sortedC, 'sortedC');
  return wassersteinChecked(sortedR, sortedC);
}

/**
 * `wassersteinDistance` for non-empty samples already checked sorted and finite.
 *
 * One merged element per step, without a data-dependent branch (a branch on which sample is next
 * mispredicts about half the time on continuous data: measured 26 against 14 ns a step on 1M + 1M
 * values). Between copies of one value the gap `next − x` is 0 and the term adds +0, so the sum
 * is the same sum, term by term, as a walk over distinct values. Both samples are padded with
 * +Infinity so that reading one past the end needs no test.
 */
export function wassersteinChecked(sortedR: Float64Array, sortedC: Float64Array): number {
  const nR = sortedR.length;
  const nC = sortedC.length;
  const r = padded(sortedR);
  const c = padded(sortedC);
  let i = 0;
  let j = 0;
  let sum = 0;
  let a = r[0]!;
  let b = c[0]!;
  let x = a <= b ? a : b;
  // The last element closes the walk: after it both ECDFs are 1 and there is no gap left.
  for (let step = 1; step < nR + nC; step++) {
    const takeR = +(a <= b);
    i += takeR;
    j += 1 - takeR;
    a = r[i]!;
    b = c[j]!;
    // ±0 sort together (0 <= -0), so which zero is `next` does not change next − x.
    const next = a <= b ? a : b;
    sum += Math.abs(i / nR - j / nC) * (next - x);
    x = next;
  }
  return sum;
}

function padded(sorted: Float64Array): Float64Array {
  const out = new Float64Array(sorted.length + 1);
  out.set(sorted);
  out[sorted.length] = Infinity;
  return out;
}

/** Population standard deviation (ddof = 0), two-pass like NumPy's `std` to avoid cancellation. */
export function populationStd(values: ArrayLike<number>): number {
  assertNonEmpty(values, 'values');
  const n = values.length;
  let mean = 0;
  for (let k = 0; k < n; k++) mean += values[k]!;
  mean /= n;
  let ss = 0;
  for (let k = 0; k < n; k++) {
    const dev = values[k]! - mean;
    ss += dev * dev;
  }
  return Math.sqrt(ss / n);
}

/**
 * W1 in units of the reference's spread, W1(R, C) / max(std(R), 0.001), so one threshold (0.1)
 * fits columns of any scale. `refStd` lets a caller that keeps the reference's std (or computes it
 * in SQL) skip the second pass over R.
 */
export function normalizedWasserstein(sortedR: Float64Array, sortedC: Float64Array, refStd?: number): number {
  const std = refStd ?? populationStd(sortedR);
  return wassersteinDistance(sortedR, sortedC) / Math.max(std, WASSERSTEIN_MIN_STD);
}
