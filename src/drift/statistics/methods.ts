/** Column kinds, method choice, thresholds and drift decisions. */

export type ColumnKind = 'numerical' | 'categorical';
export type DriftMethod = 'ks' | 'wasserstein' | 'psi' | 'jensenshannon' | 'chi2';
export type MethodOption = DriftMethod | 'auto';

export const DRIFT_METHODS: readonly DriftMethod[] = ['ks', 'wasserstein', 'psi', 'jensenshannon', 'chi2'];

/** A numeric column with at most this many distinct reference values is treated as categorical. */
export const MAX_CATEGORICAL_DISTINCT = 20;
/** `auto` picks the tests (ks, chi2) up to this reference size and distances above it. */
export const AUTO_TEST_MAX_REFERENCE = 1000;
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

/** p-value cut-off for the tests, statistic cut-off for the distances. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chi2: 0.05,
  wasserstein: 0.1,
  psi: 0.1,
  jensenshannon: 0.1,
};

export const METHOD_KINDS: Readonly<Record<DriftMethod, readonly ColumnKind[]>> = {
  ks: ['numerical'],
  wasserstein: ['numerical'],
  psi: ['numerical', 'categorical'],
  jensenshannon: ['numerical', 'categorical'],
  chi2: ['categorical'],
};

/** ks and chi2 decide on their p-value (drift when p < threshold); the others on the statistic (≥). */
export function usesPValue(method: DriftMethod): boolean {
  return method === 'ks' || method === 'chi2';
}

export function inferKind(distinctCount: number, isNumeric: boolean): ColumnKind {
  return isNumeric && distinctCount > MAX_CATEGORICAL_DISTINCT ? 'numerical' : 'categorical';
}

/**
 * Kind of a reference column from its values. Nulls/undefined and NaN are ignored; any string or
 * boolean makes the column categorical; otherwise numbers (and bigints) are counted until more than
 * 20 distinct values are seen. A column with no values at all comes out categorical (0 distinct).
 */
export function columnKind(values: Iterable<unknown>): ColumnKind {
  const distinct = new Set<number>();
  let numeric = true;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string' || typeof v === 'boolean') {
      numeric = false;
      break;
    }
    const x = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
    if (x === undefined) throw new TypeError(`columnKind: unsupported value of type ${typeof v}`);
    if (Number.isNaN(x)) continue;
    if (distinct.size <= MAX_CATEGORICAL_DISTINCT) distinct.add(x);
  }
  return inferKind(distinct.size, numeric);
}

/** Resolves `auto`, and rejects a method that does not apply to the column kind. */
export function resolveMethod(method: MethodOption, kind: ColumnKind, nR: number): DriftMethod {
  if (method === 'auto') {
    const small = nR <= AUTO_TEST_MAX_REFERENCE;
    if (kind === 'numerical') return small ? 'ks' : 'wasserstein';
    return small ? 'chi2' : 'jensenshannon';
  }
  if (!METHOD_KINDS[method].includes(kind)) {
    throw new RangeError(`drift method ${method} does not apply to ${kind} columns`);
  }
  return method;
}

/**
 * Drift decision. A missing value (null: no data in the window, or the method has no p-value)
 * never signals drift; a null χ² statistic means ∞ and arrives with pValue 0, so it does.
 */
export function isDrifted(
  method: DriftMethod,
  statistic: number | null,
  pValue: number | null,
  threshold: number = DEFAULT_THRESHOLDS[method],
): boolean {
  if (usesPValue(method)) return pValue !== null && pValue < threshold;
  return statistic !== null && statistic >= threshold;
}

/** Dataset drift: share of drifted feature columns ≥ threshold. No columns → share 0, not drifted. */
export function datasetDrift(
  columnsDrifted: readonly boolean[],
  threshold: number = DEFAULT_DATASET_DRIFT_SHARE,
): { share: number; drifted: boolean } {
  if (columnsDrifted.length === 0) return { share: 0, drifted: false };
  const share = columnsDrifted.filter(Boolean).length / columnsDrifted.length;
  return { share, drifted: share >= threshold };
}
