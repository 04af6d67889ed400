/**
 * The performance condition over the metrics of closed windows (computed by the metrics
 * capability): a window is judged once `label_delay` has passed its end on the model's event-time
 * watermark and at least `min_labeled` of its predictions have labels.
 */
import type { MetricsBucket } from '../../metrics/index.js';
import type { PerformanceRule, RetrainMetric } from './policy.js';
import type { Firing } from './trigger.js';

export interface ReferenceValue {
  value: number | null;
  /** Where the value comes from; null when the reference holds uploaded rows (no period). */
  period: { from: string; to: string; revision: number } | null;
  /** Why there is no value, when there is none. */
  note?: string;
}

/** A window's figures: the metrics route's bucket, or CBPE's estimates with `labeled` = scored predictions. */
export type JudgedWindow = Pick<MetricsBucket, 'start' | 'end' | 'version' | 'labeled' | 'count'> &
  Partial<Record<RetrainMetric, number | null>>;

export interface PerformanceInput {
  modelId: string;
  rule: PerformanceRule;
  /** Event-time watermark of the model (epoch ms). */
  watermark: number;
  /** The metrics of windows, one bucket per window and version (estimates when the rule says so). */
  buckets: readonly JudgedWindow[];
  /** The reference period's value of the metric, per version. */
  reference: ReadonlyMap<string, ReferenceValue>;
}

/** Relative (to the larger operand, at least 1) slack of the drop comparison. @default 1e-12 */
export const DROP_TOLERANCE = 1e-12;

/**
 * "Dropped by more than max_drop" (SPEC 6), blind to the rounding of `reference − value`:
 * 0.9 − 0.85 is 0.050000000000000044, which must not count as more than 0.05.
 */
function droppedMore(reference: number, value: number, maxDrop: number): boolean {
  const scale = Math.max(1, Math.abs(reference), Math.abs(value), Math.abs(maxDrop));
  return reference - value - maxDrop > DROP_TOLERANCE * scale;
}

export function performanceFirings(input: PerformanceInput): Firing[] {
  const { rule } = input;
  const out: Firing[] = [];
  for (const b of input.buckets) {
    const end = Date.parse(b.end);
    if (end + rule.labelDelayMs > input.watermark) continue;
    if (b.labeled < rule.minLabeled) continue;
    const value = b[rule.metric];
    if (value === null || value === undefined || !Number.isFinite(value)) continue;
    const reference = input.reference.get(b.version);
    const referenceValue = reference?.value ?? null;
    const drop = referenceValue === null ? null : referenceValue - value;
    const underMin = rule.min !== undefined && value < rule.min;
    const dropped =
      rule.maxDrop !== undefined &&
      referenceValue !== null &&
      droppedMore(referenceValue, value, rule.maxDrop);
    if (!underMin && !dropped) continue;
    out.push({
      modelId: input.modelId,
      version: b.version,
      reason: 'performance',
      start: Date.parse(b.start),
      end,
      evidence: {
        metric: rule.metric,
        ...(rule.estimated === true ? { estimated: true, method: 'cbpe' } : {}),
        value,
        labeled: b.labeled,
        count: b.count,
        min: rule.min ?? null,
        max_drop: rule.maxDrop ?? null,
        reference_value: reference?.value ?? null,
        reference_period: reference?.period ?? null,
        ...(reference?.note === undefined ? {} : { reference_note: reference.note }),
        drop,
        fired: [...(underMin ? ['min'] : []), ...(dropped ? ['max_drop'] : [])],
        min_labeled: rule.minLabeled,
        label_delay_ms: rule.labelDelayMs,
        watermark: new Date(input.watermark).toISOString(),
      },
    });
  }
  return out;
}
