/**
 * What the HTML drift report shows, computed from a drift report and its distributions (pure):
 * one entry per column, drifted columns first, with the column's statistic in every bucket.
 */
import type { ColumnDrift, ColumnRole } from '../engine/types.js';
import type { ColumnDistribution } from './distribution.js';
import type { ReportPerformance } from './performance.js';
import type { ReportQuality } from './quality.js';

/** A bucket as the drift route and the offline report give it (offline: no times without --timestamp-column). */
export interface ReportBucket {
  start: string | null;
  end: string | null;
  count: number;
  drift_share: number;
  dataset_drift: boolean;
  columns: ColumnDrift[];
}

export interface ReportInput {
  title: string;
  /** Where the two sides came from (file names, model and version, the range). */
  subtitle: string;
  buckets: readonly ReportBucket[];
  distributions: readonly ColumnDistribution[];
  /** The share of drifted features that makes dataset drift. */
  datasetDriftShare: number;
  /** Epoch ms. @default Date.now() */
  generatedAt?: number;
  /** Estimated performance per bucket (API only, for a version that has an estimate). @default none */
  performance?: ReportPerformance | undefined;
  /** Data quality per bucket (API only; rendered as static HTML, not part of the embedded model). @default none */
  quality?: ReportQuality | undefined;
}

export interface ReportColumn {
  column: string;
  role: ColumnRole;
  kind: string;
  method: string;
  threshold: number;
  /** The latest bucket's figures. */
  statistic: number | null;
  p_value: number | null;
  drifted: boolean;
  /** Buckets in which the column drifted, of those it has values in. */
  driftedBuckets: number;
  buckets: number;
  /** ks and chi2 decide on the p-value (drift when under the threshold), the others on the statistic (at or over it). */
  decidesOn: 'p_value' | 'statistic';
  /** The figures per bucket (null: none, e.g. χ² = ∞ or no values). */
  series: { start: string | null; statistic: number | null; p_value: number | null; drifted: boolean }[];
  distribution: ColumnDistribution | undefined;
}

export interface ReportModel {
  title: string;
  subtitle: string;
  generatedAt: string;
  datasetDriftShare: number;
  buckets: {
    start: string | null;
    end: string | null;
    count: number;
    drift_share: number;
    dataset_drift: boolean;
  }[];
  columns: ReportColumn[];
  performance?: ReportPerformance;
}

const key = (role: string, column: string) => `${role}\u0000${column}`;

const P_VALUE_METHODS = new Set(['ks', 'chi2']);

/** How far past its threshold a column is (above 1: drifted), whichever figure decides. */
function severity(c: ReportColumn): number {
  if (c.decidesOn === 'p_value') {
    if (c.p_value === null) return -1;
    return c.p_value === 0 ? Number.MAX_VALUE : c.threshold / c.p_value;
  }
  if (c.statistic === null) return -1;
  return c.threshold > 0 ? c.statistic / c.threshold : c.statistic;
}

export function reportModel(input: ReportInput): ReportModel {
  const distributions = new Map(input.distributions.map((d) => [key(d.role, d.column), d]));
  const columns = new Map<string, ReportColumn>();
  for (const bucket of input.buckets) {
    for (const c of bucket.columns) {
      const k = key(c.role, c.column);
      const entry = columns.get(k) ?? {
        column: c.column,
        role: c.role,
        kind: c.kind,
        method: c.method,
        threshold: c.threshold,
        statistic: null,
        p_value: null,
        drifted: false,
        driftedBuckets: 0,
        buckets: 0,
        decidesOn: P_VALUE_METHODS.has(c.method) ? 'p_value' : 'statistic',
        series: [],
        distribution: distributions.get(k),
      };
      Object.assign(entry, {
        statistic: c.statistic,
        p_value: c.p_value,
        drifted: c.drifted,
        method: c.method,
        threshold: c.threshold,
      });
      // A bucket without values of the column is no evidence either way (as for drift_share).
      if (c.count > 0) entry.buckets++;
      if (c.drifted) entry.driftedBuckets++;
      entry.series.push({
        start: bucket.start,
        statistic: c.statistic,
        p_value: c.p_value,
        drifted: c.drifted,
      });
      columns.set(k, entry);
    }
  }
  // Drifted now first, then by how many buckets drifted, then by how far over the threshold.
  const ordered = [...columns.values()].sort(
    (a, b) =>
      Number(b.drifted) - Number(a.drifted) ||
      b.driftedBuckets - a.driftedBuckets ||
      severity(b) - severity(a) ||
      (a.column < b.column ? -1 : a.column > b.column ? 1 : 0),
  );
  return {
    title: input.title,
    subtitle: input.subtitle,
    generatedAt: new Date(input.generatedAt ?? Date.now()).toISOString(),
    datasetDriftShare: input.datasetDriftShare,
    buckets: input.buckets.map(({ columns: _c, ...b }) => b),
    columns: ordered,
    ...(input.performance ? { performance: input.performance } : {}),
  };
}
