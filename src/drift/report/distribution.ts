/**
 * Reference and current distributions of each column, for the HTML report's overlaid charts
 * (pure: no I/O). Numerical columns share one set of equal-width bins so the two histograms line
 * up; categorical columns keep their most frequent categories.
 */
import { referenceCategories } from '../engine/samples.js';
import type { ColumnPlan } from '../engine/evaluate.js';
import type { ColumnRole, WindowSample } from '../engine/types.js';

export type ColumnDistribution = {
  column: string;
  role: ColumnRole;
  referenceCount: number;
  currentCount: number;
} & (
  | {
      kind: 'numerical';
      /** Bin edges, `bins + 1` of them; values beyond the outer edges are counted in the end bins. */
      edges: number[];
      /** Share of the side's values per bin (sums to 1, or all 0 for an empty side). */
      reference: number[];
      current: number[];
    }
  | {
      kind: 'categorical';
      categories: string[];
      reference: number[];
      current: number[];
      /** Categories beyond the shown ones, summed into the last entry when there are any. */
      otherCategories: number;
    }
);

export interface DistributionOptions {
  /** Equal-width bins of a numerical column. @default 30 */
  bins?: number;
  /** Categories shown, by combined share; the rest are one `(other)` entry. @default 20 */
  maxCategories?: number;
  /**
   * The bins span this quantile range of the two sides together (values beyond fall in the end
   * bins), so one extreme value does not squeeze the whole histogram into one bar. @default 0.005
   */
  tail?: number;
}

const EMPTY = new Float64Array(0);

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))]!;
}

function shares(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/**
 * Where [lo, hi] is wider than the largest double (values near ±1.8e308 on both sides), bins and
 * edges are taken on halves: hi - lo was ∞, so every edge was NaN or ∞ and every value went to a
 * NaN index, counted nowhere. Halving is exact, so ordinary data keeps the usual path bit for bit.
 */
const halved = (lo: number, hi: number) => !Number.isFinite(hi - lo);

/** Counts of sorted values in `bins` equal-width bins over [lo, hi], the outside clamped in. */
function histogram(sorted: Float64Array, lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const half = halved(lo, hi);
  const width = half ? (hi / 2 - lo / 2) / bins : (hi - lo) / bins;
  for (const v of sorted) {
    const i = width > 0 ? Math.floor((half ? v / 2 - lo / 2 : v - lo) / width) : 0;
    counts[Math.min(bins - 1, Math.max(0, i))]!++;
  }
  return counts;
}

function binEdges(lo: number, hi: number, bins: number): number[] {
  if (!halved(lo, hi)) return Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  return Array.from({ length: bins + 1 }, (_, i) => 2 * (lo / 2 + (hi / 2 - lo / 2) * (i / bins)));
}

function numerical(
  plan: ColumnPlan,
  current: Float64Array[],
  options: DistributionOptions,
): ColumnDistribution {
  const bins = options.bins ?? 30;
  const tail = options.tail ?? 0.005;
  const ref = plan.ref.numerical?.sorted ?? EMPTY;
  const sides = [ref, ...current].filter((s) => s.length > 0);
  // Loops, not Math.min(...): an argument per window overflows the stack past ~125,000 windows.
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of sides) {
    lo = Math.min(lo, quantile(s, tail));
    hi = Math.max(hi, quantile(s, 1 - tail));
  }
  if (sides.length === 0) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const cur = new Array<number>(bins).fill(0);
  for (const s of current) histogram(s, lo, hi, bins).forEach((c, i) => (cur[i]! += c));
  return {
    column: plan.ref.column,
    role: plan.ref.role,
    kind: 'numerical',
    referenceCount: ref.length,
    currentCount: current.reduce((n, s) => n + s.length, 0),
    edges: binEdges(lo, hi, bins),
    reference: shares(histogram(ref, lo, hi, bins)),
    current: shares(cur),
  };
}

function categorical(
  plan: ColumnPlan,
  current: Map<string, number>[],
  options: DistributionOptions,
): ColumnDistribution {
  const ref = referenceCategories(plan.ref);
  const cur = new Map<string, number>();
  for (const m of current) for (const [k, c] of m) cur.set(k, (cur.get(k) ?? 0) + c);
  const refTotal = [...ref.values()].reduce((a, b) => a + b, 0);
  const curTotal = [...cur.values()].reduce((a, b) => a + b, 0);
  const share = (m: Map<string, number>, total: number, k: string) =>
    total === 0 ? 0 : (m.get(k) ?? 0) / total;
  const all = [...new Set([...ref.keys(), ...cur.keys()])].sort(
    (a, b) =>
      share(ref, refTotal, b) +
        share(cur, curTotal, b) -
        (share(ref, refTotal, a) + share(cur, curTotal, a)) || (a < b ? -1 : 1),
  );
  const max = options.maxCategories ?? 20;
  const shown = all.length > max ? all.slice(0, max - 1) : all;
  const rest = all.slice(shown.length);
  const restShare = (m: Map<string, number>, total: number) =>
    rest.reduce((sum, k) => sum + share(m, total, k), 0);
  return {
    column: plan.ref.column,
    role: plan.ref.role,
    kind: 'categorical',
    referenceCount: refTotal,
    currentCount: curTotal,
    categories: rest.length > 0 ? [...shown, '(other)'] : shown,
    reference: [
      ...shown.map((k) => share(ref, refTotal, k)),
      ...(rest.length > 0 ? [restShare(ref, refTotal)] : []),
    ],
    current: [
      ...shown.map((k) => share(cur, curTotal, k)),
      ...(rest.length > 0 ? [restShare(cur, curTotal)] : []),
    ],
    otherCategories: rest.length,
  };
}

/** One distribution per planned column; the current side is every given window together. */
export function columnDistributions(
  plans: readonly ColumnPlan[],
  windows: readonly WindowSample[],
  options: DistributionOptions = {},
): ColumnDistribution[] {
  return plans.map((plan) => {
    const columns = windows.flatMap((w) => {
      const c = w.columns.get(plan.key);
      return c ? [c] : [];
    });
    return plan.needs === 'sorted'
      ? numerical(
          plan,
          columns.map((c) => c.sorted ?? EMPTY),
          options,
        )
      : categorical(
          plan,
          columns.map((c) => c.categories ?? new Map<string, number>()),
          options,
        );
  });
}
