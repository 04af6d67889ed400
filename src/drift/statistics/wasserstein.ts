import { mergedNext } from './merge-step.js';
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
 * is the same sum, term by term, as a walk over distinct values. Once one sample is used up the
 * rest of the other follows in order: the same terms as a walk over both samples padded with
 * +Infinity, without copying either: on 1M + 1M values, 12-14 ms a column against 16-25 ms with
 * the two padded copies (standalone timing, 10 columns), which were also ~1.6 GB of fresh memory
 * per window at 100 columns.
 */
export function wassersteinChecked(sortedR: Float64Array, sortedC: Float64Array): number {
  const nR = sortedR.length;
  const nC = sortedC.length;
  let i = 0;
  let j = 0;
  let sum = 0;
  let a = sortedR[0]!;
  let b = sortedC[0]!;
  let x = a <= b ? a : b;
  const pair = new Float64Array(2);
  for (;;) {
    // This many steps cannot use up either sample, so they need no bounds test.
    let safe = Math.min(nR - i, nC - j) - 1;
    if (safe <= 0) break;
    for (; safe > 0; safe--) {
      const takeR = +(a <= b);
      i += takeR;
      j += 1 - takeR;
      a = sortedR[i]!;
      b = sortedC[j]!;
      // ±0 sort together (0 <= -0), so which zero is `next` does not change next − x.
      const next = mergedNext(pair, a, b);
      sum += Math.abs(i / nR - j / nC) * (next - x);
      x = next;
    }
  }
  for (;;) {
    const takeR = +(a <= b);
    i += takeR;
    j += 1 - takeR;
    if (i === nR || j === nC) break;
    a = sortedR[i]!;
    b = sortedC[j]!;
    const next = a <= b ? a : b;
    sum += Math.abs(i / nR - j / nC) * (next - x);
    x = next;
  }
  // The last element closes the walk: after it both ECDFs are 1 and there is no gap left.
  for (; i < nR; i++) {
    const next = sortedR[i]!;
    sum += Math.abs(i / nR - j / nC) * (next - x);
    x = next;
  }
  for (; j < nC; j++) {
    const next = sortedC[j]!;
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
