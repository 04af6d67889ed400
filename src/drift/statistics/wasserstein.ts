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

/** `wassersteinDistance` for non-empty samples already checked sorted and finite: the same sum, term by term. */
export function wassersteinChecked(sortedR: Float64Array, sortedC: Float64Array): number {
  const nR = sortedR.length;
  const nC = sortedC.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let x = Math.min(sortedR[0]!, sortedC[0]!);
  for (;;) {
    while (i < nR && sortedR[i]! <= x) i++;
    while (j < nC && sortedC[j]! <= x) j++;
    if (i === nR && j === nC) break;
    // Both ±0 are consumed together (0 <= -0), so which zero is `next` does not change next − x.
    let next: number;
    if (i === nR) next = sortedC[j]!;
    else if (j === nC) next = sortedR[i]!;
    else next = sortedR[i]! < sortedC[j]! ? sortedR[i]! : sortedC[j]!;
    sum += Math.abs(i / nR - j / nC) * (next - x);
    x = next;
  }
  return sum;
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
