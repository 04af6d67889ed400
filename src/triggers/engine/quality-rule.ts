/**
 * The data-quality condition over stored quality windows (nothing is recomputed here): a window
 * fires when a watched column was flagged by a watched check in it and in the K−1 windows right
 * before it, for one version.
 */
import type { StoredQualityWindow } from '../../drift/index.js';
import type { QualityRule } from './policy.js';
import type { Firing } from './trigger.js';

interface Held {
  window: StoredQualityWindow;
  evidence: Record<string, unknown>;
}

function held(rule: QualityRule, w: StoredQualityWindow): Held | undefined {
  const named = new Set(rule.columns);
  const checks = new Set(rule.checks);
  const columns = w.columns
    .filter((c) => named.size === 0 || named.has(c.column))
    .map((c) => ({ c, flags: c.flags.filter((f) => checks.has(f)) }))
    .filter(({ flags }) => flags.length > 0);
  if (columns.length === 0) return undefined;
  return {
    window: w,
    evidence: {
      start: w.start,
      end: w.end,
      count: w.count,
      reference_revision: w.reference_revision,
      columns: columns.map(({ c, flags }) => ({
        column: c.column,
        flags,
        missing_rate: c.missing_rate,
        wrong_type_share: c.wrong_type_share,
        unseen_share: c.unseen_share,
        out_of_range_share: c.out_of_range_share,
      })),
    },
  };
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
  const byVersion = new Map<string, StoredQualityWindow[]>();
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
        reason: 'quality',
        start: Date.parse(w.start),
        end: Date.parse(w.end),
        evidence: {
          condition: {
            columns: rule.columns,
            checks: rule.checks,
            consecutive_windows: rule.consecutiveWindows,
          },
          windows: run.map((r) => r.evidence),
        },
      });
    }
  }
  return out;
}
