/** Divergences between binned (or per-category) proportions of R and C. */
import { sumCounts } from './validate.js';

/** What `psi` substitutes for an empty bin's proportion, so ln(p_C / p_R) stays finite. */
export const PSI_ZERO_PROPORTION = 0.0001;

/**
 * Population stability index Σ_b (p_C,b − p_R,b)·ln(p_C,b / p_R,b), proportions taken over the
 * aligned bins; a zero proportion (on either side) is replaced by 0.0001 without renormalising.
 */
export function psi(refCounts: readonly number[], curCounts: readonly number[]): number {
  const [nR, nC] = totals(refCounts, curCounts, 'psi');
  let sum = 0;
  for (let b = 0; b < refCounts.length; b++) {
    const pR = refCounts[b]! / nR || PSI_ZERO_PROPORTION;
    const pC = curCounts[b]! / nC || PSI_ZERO_PROPORTION;
    sum += (pC - pR) * Math.log(pC / pR);
  }
  return sum;
}

/**
 * Jensen–Shannon distance (natural log), as SciPy `spatial.distance.jensenshannon`:
 * sqrt((KL(p_R‖m) + KL(p_C‖m)) / 2), m = (p_R + p_C)/2, with 0·ln 0 = 0 and no zero replacement.
 * Bounded by sqrt(ln 2) ≈ 0.8326 for disjoint supports.
 */
export function jensenShannonDistance(refCounts: readonly number[], curCounts: readonly number[]): number {
  const [nR, nC] = totals(refCounts, curCounts, 'jensenShannonDistance');
  let left = 0;
  let right = 0;
  for (let b = 0; b < refCounts.length; b++) {
    const pR = refCounts[b]! / nR;
    const pC = curCounts[b]! / nC;
    const m = (pR + pC) / 2;
    if (pR > 0) left += pR * Math.log(pR / m);
    if (pC > 0) right += pC * Math.log(pC / m);
  }
  // Rounding can leave the sum a hair below 0 for identical inputs; sqrt of that would be NaN.
  return Math.sqrt(Math.max(0, (left + right) / 2));
}

function totals(ref: readonly number[], cur: readonly number[], fn: string): [number, number] {
  if (ref.length !== cur.length) {
    throw new RangeError(`${fn}: refCounts and curCounts must be aligned (${ref.length} vs ${cur.length})`);
  }
  const nR = sumCounts(ref, 'refCounts');
  const nC = sumCounts(cur, 'curCounts');
  if (nR === 0 || nC === 0) throw new RangeError(`${fn}: both samples must be non-empty`);
  return [nR, nC];
}
