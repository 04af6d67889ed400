/**
 * The loss-change condition: a judged window fires when Page-Hinkley (the change-detection
 * capability) detects a change inside it, run over the per-prediction loss of the `history`
 * before the window's end. The stream starts at a fixed distance from each window's end, so the
 * same stored data gives the same detections on every pass, instance and replay.
 */
import type { LossChangeRule } from './policy.js';
import type { Firing } from './trigger.js';

/** What the detector answered for one version over [window end − history, window end). */
export interface LossChangeReport {
  parameters: Record<string, unknown>;
  values: number;
  mean_loss: number | null;
  detections: {
    index: number;
    timestamp: string;
    prediction_id: string;
    mean_before: number;
    mean_after: number | null;
  }[];
}

/** The firing of one judged window, or undefined when no detection falls inside it. */
export function lossChangeFiring(
  modelId: string,
  version: string,
  rule: LossChangeRule,
  window: { start: number; end: number },
  report: LossChangeReport,
): Firing | undefined {
  const inside = report.detections.filter((d) => {
    const t = Date.parse(d.timestamp);
    return t >= window.start && t < window.end;
  });
  if (inside.length === 0) return undefined;
  return {
    modelId,
    version,
    reason: 'loss_change',
    start: window.start,
    end: window.end,
    evidence: {
      condition: { history_ms: rule.historyMs, label_delay_ms: rule.labelDelayMs },
      detector: 'page_hinkley',
      parameters: report.parameters,
      history: {
        from: new Date(window.end - rule.historyMs).toISOString(),
        values: report.values,
        mean_loss: report.mean_loss,
      },
      detections: inside,
    },
  };
}
