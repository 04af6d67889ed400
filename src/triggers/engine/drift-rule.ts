/**
 * The drift condition over stored drift windows (no statistics are recomputed here): a window
 * fires when the condition held in it and in the K−1 windows right before it, for one version.
 */
import type { StoredDriftWindow } from '../../drift/index.js';
import { keepColumns, latestWindows, omitted } from './evidence-limits.js';
import type { DriftRule } from './policy.js';
import type { Firing } from './trigger.js';
import { consecutiveRuns } from './window-runs.js';

/**
 * Why the condition held in one window, or undefined when it did not: its drifted columns, at
 * most MAX_EVIDENCE_COLUMNS of them (named ones first) and the count of the others.
 */
export function held(rule: DriftRule, w: StoredDriftWindow): Record<string, unknown> | undefined {
  const named = new Set(rule.columns);
  const columns = w.columns.filter(
    (c) =>
      c.drifted && (named.has(c.column) || (rule.datasetDrift && w.dataset_drift && c.role === 'feature')),
  );
  const datasetDrift = rule.datasetDrift && w.dataset_drift;
  if (!datasetDrift && !columns.some((c) => named.has(c.column))) return undefined;
  const listed = keepColumns(columns, (c) => named.has(c.column));
  return {
    start: w.start,
    end: w.end,
    count: w.count,
    dataset_drift: w.dataset_drift,
    drift_share: w.drift_share,
    reference_revision: w.reference_revision,
    columns: listed.map((c) => ({
      column: c.column,
      role: c.role,
      method: c.method,
      statistic: c.statistic,
      p_value: c.p_value,
      threshold: c.threshold,
      count: c.count,
    })),
    ...omitted('columns_omitted', columns.length - listed.length),
  };
}

/** The rule as the evidence names it: in the policy's own field names. */
export function driftCondition(rule: DriftRule): Record<string, unknown> {
  return {
    dataset_drift: rule.datasetDrift,
    columns: rule.columns,
    consecutive_windows: rule.consecutiveWindows,
  };
}

/**
 * Every window of `windows` (one model, any versions, any order) that ends a run of
 * `consecutiveWindows` windows of one version in which the condition held. Consecutive means
 * adjacent in time: a window without predictions (not stored) breaks the run.
 */
export function driftFirings(
  modelId: string,
  rule: DriftRule,
  windows: readonly StoredDriftWindow[],
): Firing[] {
  return consecutiveRuns(windows, rule.consecutiveWindows, (w) => held(rule, w)).map((run) => ({
    modelId,
    version: run.window.version,
    reason: 'drift',
    start: Date.parse(run.window.start),
    end: Date.parse(run.window.end),
    evidence: {
      condition: driftCondition(rule),
      ...latestWindows(run.evidence),
    },
  }));
}
