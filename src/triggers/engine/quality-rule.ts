/**
 * The data-quality condition over stored quality windows (nothing is recomputed here): a window
 * fires when a watched column was flagged by a watched check in it and in the K−1 windows right
 * before it, for one version.
 */
import type { StoredQualityWindow } from '../../drift/index.js';
import { keepColumns, latestWindows, omitted } from './evidence-limits.js';
import type { QualityRule } from './policy.js';
import type { Firing } from './trigger.js';
import { consecutiveRuns } from './window-runs.js';

/**
 * Which watched columns failed which watched checks in one window (at most MAX_EVIDENCE_COLUMNS,
 * named ones first, and the count of the others), or undefined when none did.
 */
export function held(rule: QualityRule, w: StoredQualityWindow): Record<string, unknown> | undefined {
  const named = new Set(rule.columns);
  const checks = new Set(rule.checks);
  const columns = w.columns
    .filter((c) => named.size === 0 || named.has(c.column))
    .map((c) => ({ c, flags: c.flags.filter((f) => checks.has(f)) }))
    .filter(({ flags }) => flags.length > 0);
  if (columns.length === 0) return undefined;
  const listed = keepColumns(columns, ({ c }) => named.has(c.column));
  return {
    start: w.start,
    end: w.end,
    count: w.count,
    reference_revision: w.reference_revision,
    columns: listed.map(({ c, flags }) => ({
      column: c.column,
      flags,
      missing_rate: c.missing_rate,
      wrong_type_share: c.wrong_type_share,
      unseen_share: c.unseen_share,
      out_of_range_share: c.out_of_range_share,
    })),
    ...omitted('columns_omitted', columns.length - listed.length),
  };
}

/** The rule as the evidence names it: in the policy's own field names. */
export function qualityCondition(rule: QualityRule): Record<string, unknown> {
  return { columns: rule.columns, checks: rule.checks, consecutive_windows: rule.consecutiveWindows };
}

/**
 * Every window of `windows` (one model, any versions, any order) that ends a run of
 * `consecutiveWindows` adjacent windows of one version in which the condition held.
 */
export function qualityFirings(
  modelId: string,
  rule: QualityRule,
  windows: readonly StoredQualityWindow[],
): Firing[] {
  return consecutiveRuns(windows, rule.consecutiveWindows, (w) => held(rule, w)).map((run) => ({
    modelId,
    version: run.window.version,
    reason: 'quality',
    start: Date.parse(run.window.start),
    end: Date.parse(run.window.end),
    evidence: {
      condition: qualityCondition(rule),
      ...latestWindows(run.evidence),
    },
  }));
}
