/**
 * Isotonic regression with scikit-learn's semantics (`IsotonicRegression(increasing=True,
 * out_of_bounds='clip')`, unit weights), the calibrator NannyML's CBPE uses:
 * - fit: sort by (x, y); merge x values closer than float64 resolution (1e-15) into one point whose
 *   target is their mean (`_make_unique`); pool adjacent violators in one backtracking pass
 *   (`_inplace_contiguous_isotonic_regression`); keep the first and last point and every point
 *   whose value differs from a neighbour's (`trim_duplicates`).
 * - predict: clip to [min x, max x], then linear interpolation as `numpy.interp` (what scipy's
 *   `interp1d(kind='linear')` delegates to): a point equal to a threshold takes its value exactly.
 */

/** NumPy's `finfo(float64).resolution`: x values closer than this to a point's first x join it. */
const RESOLUTION = 1e-15;

export interface IsotonicModel {
  /** Ascending thresholds (scikit-learn's `X_thresholds_`). */
  x: number[];
  /** Non-decreasing values at the thresholds (`y_thresholds_`). */
  y: number[];
}

/** Fits on finite scores `x` and targets `y` (same length, at least one row). */
export function fitIsotonic(x: ArrayLike<number>, y: ArrayLike<number>): IsotonicModel {
  if (x.length !== y.length) throw new RangeError(`x has ${x.length} values, y ${y.length}`);
  if (x.length === 0) throw new RangeError('isotonic regression needs at least one row');
  const order = Array.from({ length: x.length }, (_, i) => i).sort(
    (a, b) => x[a]! - x[b]! || y[a]! - y[b]! || a - b,
  );
  const { ux, uy, uw } = makeUnique(order, x, y);
  pool(uy, uw);
  return trimDuplicates(ux, uy);
}

function makeUnique(order: number[], x: ArrayLike<number>, y: ArrayLike<number>) {
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let currentX = x[order[0]!]!;
  let sumY = 0;
  let weight = 0;
  for (const i of order) {
    const xi = x[i]!;
    if (xi - currentX >= RESOLUTION) {
      ux.push(currentX);
      uy.push(sumY / weight);
      uw.push(weight);
      currentX = xi;
      sumY = y[i]!;
      weight = 1;
    } else {
      sumY += y[i]!;
      weight += 1;
    }
  }
  ux.push(currentX);
  uy.push(sumY / weight);
  uw.push(weight);
  return { ux, uy, uw };
}

/** Pool adjacent violators in place, scikit-learn's single backtracking pass (same float operations). */
function pool(y: number[], w: number[]): void {
  const n = y.length;
  // target[i] = j and target[j] = i while [i..j] is a block.
  const target = Array.from({ length: n }, (_, i) => i);
  let i = 0;
  while (i < n) {
    let k = target[i]! + 1;
    if (k === n) break;
    if (y[i]! < y[k]!) {
      i = k;
      continue;
    }
    let sumWy = w[i]! * y[i]!;
    let sumW = w[i]!;
    for (;;) {
      const prevY = y[k]!;
      sumWy += w[k]! * y[k]!;
      sumW += w[k]!;
      k = target[k]! + 1;
      if (k === n || prevY < y[k]!) {
        y[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1]!;
        break;
      }
    }
  }
  i = 0;
  while (i < n) {
    const k = target[i]! + 1;
    for (let j = i + 1; j < k; j++) y[j] = y[i]!;
    i = k;
  }
}

function trimDuplicates(x: number[], y: number[]): IsotonicModel {
  const keep = (i: number) => i === 0 || i === y.length - 1 || y[i] !== y[i - 1] || y[i] !== y[i + 1];
  const out: IsotonicModel = { x: [], y: [] };
  for (let i = 0; i < y.length; i++) {
    if (!keep(i)) continue;
    out.x.push(x[i]!);
    out.y.push(y[i]!);
  }
  return out;
}

/** The calibrated value of one score (finite): clipped, then interpolated as `numpy.interp`. */
export function predictIsotonic(model: IsotonicModel, score: number): number {
  const { x, y } = model;
  const last = x.length - 1;
  if (last === 0) return y[0]!;
  if (score <= x[0]!) return y[0]!;
  if (score >= x[last]!) return y[last]!;
  // Largest j with x[j] <= score (x[0] <= score < x[last] here).
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= score) lo = mid;
    else hi = mid;
  }
  if (x[lo] === score) return y[lo]!;
  const slope = (y[lo + 1]! - y[lo]!) / (x[lo + 1]! - x[lo]!);
  return slope * (score - x[lo]!) + y[lo]!;
}
