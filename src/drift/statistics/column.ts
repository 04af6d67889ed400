/**
 * Per-column drift from prepared samples: the one place that turns empty samples into
 * "no statistic" instead of an exception, so an all-null window never breaks a drift run.
 */
import { binCountsSorted, binCountsUnsorted, quantileEdges } from './binning.js';
import { chiSquare } from './chi-square.js';
import { jensenShannonDistance, psi } from './divergence.js';
import { ksPValue, ksReportedStatistic, ksStatisticChecked } from './ks.js';
import { type DriftMethod, DEFAULT_THRESHOLDS, isDrifted, METHOD_KINDS } from './methods.js';
import { normalizedWassersteinChecked, populationStd } from './wasserstein.js';
import { assertSortedFinite } from './validate.js';

export interface NumericSample {
  /** Finite values, ascending. */
  sorted: Float64Array;
  /** NaN and ±Infinity values that were dropped (nulls are dropped silently). */
  nonFinite: number;
}

/**
 * Drops nulls and non-finite numbers and sorts. ±Infinity is dropped rather than kept because it
 * would make W1, the std and the quantile edges infinite or NaN; `nonFinite` lets the caller
 * report such values as a data-quality issue instead.
 */
export function toSortedFinite(values: Iterable<number | null | undefined>): NumericSample {
  const kept: number[] = [];
  let nonFinite = 0;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    if (Number.isFinite(v)) kept.push(v);
    else nonFinite++;
  }
  return { sorted: Float64Array.from(kept).sort(), nonFinite };
}

/** What is fixed when the reference is set, so every window is measured the same way. */
export interface NumericalReference {
  sorted: Float64Array;
  /** Inner bin edges (empty when the reference is empty). */
  edges: number[];
  /** Reference counts per bin, aligned with `edges`. */
  counts: number[];
  /** Population std (ddof = 0); 0 for an empty reference. */
  std: number;
}

export function numericalReference(sortedR: Float64Array): NumericalReference {
  if (sortedR.length === 0) return { sorted: sortedR, edges: [], counts: [0], std: 0 };
  const edges = quantileEdges(sortedR);
  return { sorted: sortedR, edges, counts: binCountsSorted(edges, sortedR), std: populationStd(sortedR) };
}

export interface ColumnDriftResult {
  method: DriftMethod;
  /** null: no statistic (empty reference or window), or χ² = ∞ (then pValue is 0). */
  statistic: number | null;
  /** null for the distance methods, and when there is no statistic. */
  pValue: number | null;
  threshold: number;
  drifted: boolean;
}

/** Reference samples already checked; a reference is compared with many windows. */
const checkedReferences = new WeakSet<Float64Array>();

/**
 * `referenceChecked`: the caller has already checked `ref.sorted` sorted and finite (a worker
 * thread gets a fresh view of the same shared reference with every window, so the once-per-sample
 * check below cannot remember it there).
 */
export function numericalDrift(
  method: DriftMethod,
  ref: NumericalReference,
  sortedC: Float64Array,
  threshold: number = DEFAULT_THRESHOLDS[method],
  referenceChecked = false,
): ColumnDriftResult {
  assertApplies(method, 'numerical');
  if (ref.sorted.length === 0 || sortedC.length === 0) return noStatistic(method, threshold);
  if (referenceChecked) checkedReferences.add(ref.sorted);
  switch (method) {
    case 'ks': {
      checkSamples(ref.sorted, sortedC);
      const [nR, nC] = [ref.sorted.length, sortedC.length];
      const d = ksStatisticChecked(ref.sorted, sortedC);
      return decide(method, ksReportedStatistic(d, nR, nC), ksPValue(d, nR, nC), threshold);
    }
    case 'wasserstein': {
      checkSamples(ref.sorted, sortedC);
      return decide(method, normalizedWassersteinChecked(ref.sorted, sortedC, ref.std), null, threshold);
    }
    case 'psi':
      return decide(method, psi(ref.counts, binCountsSorted(ref.edges, sortedC)), null, threshold);
    case 'jensenshannon':
      return decide(
        method,
        jensenShannonDistance(ref.counts, binCountsSorted(ref.edges, sortedC)),
        null,
        threshold,
      );
    case 'chi2':
      throw new RangeError('unreachable: chi2 is categorical only');
  }
}

/**
 * `numericalDrift` for PSI and JS from current values in any order (finite, as a window read
 * gives them): the same bin counts as from the sorted values, so the same results.
 */
export function binnedDrift(
  method: 'psi' | 'jensenshannon',
  ref: NumericalReference,
  values: Float64Array,
  threshold: number = DEFAULT_THRESHOLDS[method],
): ColumnDriftResult {
  if (ref.sorted.length === 0 || values.length === 0) return noStatistic(method, threshold);
  const counts = binCountsUnsorted(ref.edges, values);
  return decide(
    method,
    method === 'psi' ? psi(ref.counts, counts) : jensenShannonDistance(ref.counts, counts),
    null,
    threshold,
  );
}

/** Counts aligned per category of R ∪ C (see `alignCategoryCounts`). */
export function categoricalDrift(
  method: DriftMethod,
  refCounts: readonly number[],
  curCounts: readonly number[],
  threshold: number = DEFAULT_THRESHOLDS[method],
): ColumnDriftResult {
  assertApplies(method, 'categorical');
  if (total(refCounts) === 0 || total(curCounts) === 0) return noStatistic(method, threshold);
  switch (method) {
    case 'chi2': {
      const r = chiSquare(refCounts, curCounts);
      return decide(method, r.statistic, r.pValue, threshold);
    }
    case 'psi':
      return decide(method, psi(refCounts, curCounts), null, threshold);
    case 'jensenshannon':
      return decide(method, jensenShannonDistance(refCounts, curCounts), null, threshold);
    case 'ks':
    case 'wasserstein':
      throw new RangeError(`unreachable: ${method} is numerical only`);
  }
}

/** The sorted-and-finite check of a reference sample, once per sample. */
export function checkReferenceSample(sortedR: Float64Array): void {
  if (!checkedReferences.has(sortedR)) {
    assertSortedFinite(sortedR, 'sortedR');
    checkedReferences.add(sortedR);
  }
}

/** The sorted-and-finite check of `ksStatistic`/`wassersteinDistance`, once per reference sample. */
function checkSamples(sortedR: Float64Array, sortedC: Float64Array): void {
  checkReferenceSample(sortedR);
  assertSortedFinite(sortedC, 'sortedC');
}

function decide(method: DriftMethod, statistic: number | null, pValue: number | null, threshold: number) {
  return { method, statistic, pValue, threshold, drifted: isDrifted(method, statistic, pValue, threshold) };
}

function noStatistic(method: DriftMethod, threshold: number): ColumnDriftResult {
  return { method, statistic: null, pValue: null, threshold, drifted: false };
}

function assertApplies(method: DriftMethod, kind: 'numerical' | 'categorical'): void {
  if (!METHOD_KINDS[method].includes(kind))
    throw new RangeError(`drift method ${method} does not apply to ${kind} columns`);
}

function total(counts: readonly number[]): number {
  return counts.reduce((s, c) => s + c, 0);
}
