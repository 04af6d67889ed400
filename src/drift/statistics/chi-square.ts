/** Pearson chi-square goodness of fit of C's category counts against R's, as SciPy `chisquare`. */
import { regularizedGammaQ } from './gamma.js';
import { sumCounts } from './validate.js';

export interface ChiSquareResult {
  /** χ²; null stands for +∞ (a category of C never seen in R), which JSON cannot carry. */
  statistic: number | null;
  pValue: number;
  /** k − 1, k = number of categories of R ∪ C. */
  dof: number;
}

/** P(χ²_dof ≥ x) = Q(dof/2, x/2). */
export function chiSquareSf(x: number, dof: number): number {
  if (!Number.isInteger(dof) || dof < 1)
    throw new RangeError(`chiSquareSf: dof must be a positive integer, got ${dof}`);
  return regularizedGammaQ(dof / 2, x / 2);
}

/**
 * χ² = Σ (c_k − e_k)²/e_k with expected e_k = r_k·(n_C/n_R), over the categories of R ∪ C
 * (aligned entries that are 0 on both sides are skipped), p from χ² with k − 1 dof.
 *
 * - A category with r_k = 0 < c_k has e_k = 0: χ² = ∞ → `statistic: null`, `pValue: 0`.
 * - k = 1 (R and C hold the same single category): χ² = 0 with 0 dof. SciPy returns p = NaN; we
 *   return p = 1, since nothing can have drifted.
 * - Either side empty throws; the column-level `columnDrift` handles empty windows.
 */
export function chiSquare(refCounts: readonly number[], curCounts: readonly number[]): ChiSquareResult {
  if (refCounts.length !== curCounts.length) {
    throw new RangeError(
      `chiSquare: refCounts and curCounts must be aligned (${refCounts.length} vs ${curCounts.length})`,
    );
  }
  const nR = sumCounts(refCounts, 'refCounts');
  const nC = sumCounts(curCounts, 'curCounts');
  if (nR === 0 || nC === 0) throw new RangeError('chiSquare: both samples must be non-empty');
  const scale = nC / nR;
  let k = 0;
  let stat = 0;
  let unseen = false;
  for (let b = 0; b < refCounts.length; b++) {
    const r = refCounts[b]!;
    const c = curCounts[b]!;
    if (r === 0 && c === 0) continue;
    k++;
    if (r === 0) {
      unseen = true;
      continue;
    }
    const e = r * scale;
    stat += ((c - e) * (c - e)) / e;
  }
  const dof = k - 1;
  if (unseen) return { statistic: null, pValue: 0, dof };
  if (dof === 0) return { statistic: stat, pValue: 1, dof };
  return { statistic: stat, pValue: chiSquareSf(stat, dof), dof };
}
