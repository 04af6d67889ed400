/**
 * The drift condition over stored drift windows (no statistics are recomputed here): a window
 * fires when the condition held in it and in the K−1 windows right before it, for one version.
 */
import type { StoredDriftWindow } from '../../drift/index.js';
import type { DriftRule } from './policy.js';
import type { Firing } from './trigger.js';

interface Held {
  window: StoredDriftWindow;
  evidence: Record<string, unknown>;
}

/** Why the condition held in one window, or undefined when it did not. */
function held(rule: DriftRule, w: StoredDriftWindow): Held | undefined {
  const named = new Set(rule.columns);
  const columns = w.columns.filter(
    (c) =>
      c.drifted && (named.has(c.column) || (rule.datasetDrift && w.dataset_drift && c.role === 'feature')),
  );
  const datasetDrift = rule.datasetDrift && w.dataset_drift;
  if (!datasetDrift && !columns.some((c) => named.has(c.column))) return undefined;
  return {
    window: w,
    evidence: {
      start: w.start,
      end: w.end,
      count: w.count,
      dataset_drift: w.dataset_drift,
      drift_share: w.drift_share,
      reference_revision: w.reference_revision,
      columns: columns.map((c) => ({
        column: c.column,
        role: c.role,
        method: c.method,
        statistic: c.statistic,
        p_value: c.p_value,
        threshold: c.threshold,
        count: c.count,
      })),
    },
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
  const byVersion = new Map<string, StoredDriftWindow[]>();
  for (const w of windows) byVersion.set(w.version, [...(byVersion.get(w.version) ?? []), w]);
  const out: Firing[] = [];
  for (const [version, list] of byVersion) {
    list.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    let run: Held[] = [];
    for (const w of list) {
      const h = held(rule, w);
      const previous = run[run.length - 1];
      if (!h) {
        run = [];
        continue;
      }
      run = previous && previous.window.end === w.start ? [...run, h].slice(-rule.consecutiveWindows) : [h];
      if (run.length < rule.consecutiveWindows) continue;
      out.push({
        modelId,
        version,
        reason: 'drift',
        start: Date.parse(w.start),
        end: Date.parse(w.end),
        evidence: {
          condition: {
            dataset_drift: rule.datasetDrift,
            columns: rule.columns,
            consecutive_windows: rule.consecutiveWindows,
          },
          windows: run.map((r) => r.evidence),
        },
      });
    }
  }
  return out;
}
