/** The `retrain` section of a model's policy (SPEC 6), validated strictly: unknown fields are a 400. */
import { z } from 'zod';
import { ESTIMATED_METRICS } from '../../performance-estimation/index.js';
import { QUALITY_CHECKS, type QualityCheck } from '../../drift/index.js';
import { DURATION_PATTERN, parseDuration } from '../../platform/time/index.js';
import { formatSegment, MAX_SEGMENT_PARAM_LENGTH, parseSegment } from '../../segments/index.js';

/** Metrics a performance condition may watch: those where higher is better, so `min` is a floor. */
export const RETRAIN_METRICS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'macro_f1',
  'r2',
] as const;
export type RetrainMetric = (typeof RETRAIN_METRICS)[number];

/** `<n>s|m|h|d`, n up to 7 digits: the drift policy's own duration form (every match parses). */
const duration = z
  .string()
  .regex(new RegExp(DURATION_PATTERN), "expected a duration: '<n>s', '<n>m', '<n>h' or '<n>d'");

/** A label delay of more than a year puts judged windows outside any stored time (and the engine's range). */
const MAX_LABEL_DELAY_MS = 366 * 86_400_000;
const labelDelay = duration.refine((s) => (parseDuration(s) ?? 0) <= MAX_LABEL_DELAY_MS, {
  message: 'must be at most 366d',
});

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

const driftCondition = z
  .strictObject({
    dataset_drift: z.boolean().optional(),
    columns: z.array(z.string().min(1).max(256)).max(1000).optional(),
    consecutive_windows: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(1000, 'must be at most 1000')
      .optional(),
  })
  .refine((d) => d.dataset_drift === true || (d.columns?.length ?? 0) > 0, {
    message: 'set dataset_drift: true or name at least one column',
  });

const performanceCondition = z
  .strictObject({
    metric: z.enum(RETRAIN_METRICS),
    min: finite.optional(),
    max_drop: finite.refine((v) => v >= 0, 'must be at least 0').optional(),
    min_labeled: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(1_000_000_000)
      .optional(),
    label_delay: labelDelay.optional(),
    /** Judge CBPE's estimates (SPEC 4.1) instead of the labeled metrics: a retrain before the labels arrive. */
    estimated: z.boolean().optional(),
  })
  .refine((p) => p.min !== undefined || p.max_drop !== undefined, { message: 'set min, max_drop or both' })
  // Every metric here is at most 1 (all but r2 at least 0): `min: 80` meant as 80 % fired on every
  // window, and a negative min on a metric in [0, 1] never would.
  .refine((p) => p.min === undefined || (p.min <= 1 && (p.metric === 'r2' || p.min >= 0)), {
    message: 'must be between 0 and 1 for this metric (a share, not a percentage; r2 may be negative)',
    path: ['min'],
  })
  .refine((p) => p.estimated !== true || (ESTIMATED_METRICS as readonly string[]).includes(p.metric), {
    message: `estimated covers ${ESTIMATED_METRICS.join(', ')}`,
    path: ['metric'],
  });

/** Data quality (issue 15): flagged columns in the stored quality windows. */
const qualityCondition = z.strictObject({
  columns: z.array(z.string().min(1).max(256)).min(1).max(1000).optional(),
  checks: z.array(z.enum(QUALITY_CHECKS)).min(1).optional(),
  consecutive_windows: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(1000, 'must be at most 1000')
    .optional(),
});

/**
 * Per segment (issue 15): the drift and/or quality condition over the stored windows of a
 * segmentation the `segments` policy declares; a window fires when any of its segments breaches.
 */
const segmentCondition = z
  .strictObject({
    segment: z
      .string()
      .max(MAX_SEGMENT_PARAM_LENGTH)
      .refine(isSegment, { message: 'expected feature:<name> or tag:<name>' }),
    drift: driftCondition.optional(),
    quality: qualityCondition.optional(),
  })
  .refine((c) => c.drift !== undefined || c.quality !== undefined, { message: 'set drift, quality or both' });

/** A Page-Hinkley detection in the per-prediction loss (the change-detection capability). */
const lossChangeCondition = z.strictObject({
  /** The loss history the detector runs over, ending at each judged window's end. @default '7d' */
  history: duration
    .refine((s) => (parseDuration(s) ?? 0) >= 60_000 && (parseDuration(s) ?? 0) <= 366 * 86_400_000, {
      message: 'between 1m and 366d',
    })
    .optional(),
  label_delay: labelDelay.optional(),
});

export const retrainPolicySchema = z
  .strictObject({
    drift: driftCondition.optional(),
    performance: performanceCondition.optional(),
    quality: qualityCondition.optional(),
    segments: z
      .array(segmentCondition)
      .min(1)
      .max(20)
      .superRefine((list, ctx) => {
        // Two entries of one segmentation fire a window under one trigger id (the segmentation is its
        // key), and the stored trigger kept the evidence of one of them only.
        const seen = new Set<string>();
        list.forEach((c, i) => {
          if (seen.has(c.segment))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'segment'],
              message: `'${c.segment}' is listed already: give one entry both its drift and quality`,
            });
          seen.add(c.segment);
        });
      })
      .optional(),
    loss_change: lossChangeCondition.optional(),
    cooldown: duration.optional(),
  })
  .refine(
    (r) =>
      r.drift !== undefined ||
      r.performance !== undefined ||
      r.quality !== undefined ||
      r.segments !== undefined ||
      r.loss_change !== undefined,
    { message: 'set drift, performance, quality, segments, loss_change or several of them' },
  );

function isSegment(text: string): boolean {
  try {
    parseSegment(text);
    return true;
  } catch {
    return false;
  }
}

export type RetrainPolicy = z.infer<typeof retrainPolicySchema>;

/** @default 1 */
export const DEFAULT_CONSECUTIVE_WINDOWS = 1;
/** @default 1 */
export const DEFAULT_MIN_LABELED = 1;
/** @default '0s' */
export const DEFAULT_LABEL_DELAY = '0s';
/** @default '0s' (no cooldown) */
export const DEFAULT_COOLDOWN = '0s';

export interface DriftRule {
  datasetDrift: boolean;
  columns: readonly string[];
  consecutiveWindows: number;
}

export interface PerformanceRule {
  metric: RetrainMetric;
  min: number | undefined;
  maxDrop: number | undefined;
  minLabeled: number;
  labelDelayMs: number;
  /** Judge estimates: no label delay, and `minLabeled` counts the scored predictions. @default false */
  estimated?: boolean;
}

/** Fires when a named column (any column when none is named) is flagged by one of `checks`. */
export interface QualityRule {
  /** Empty: any column. */
  columns: readonly string[];
  checks: readonly QualityCheck[];
  consecutiveWindows: number;
}

/** Drift and/or quality of each segment of a declared segmentation's stored windows. */
export interface SegmentRule {
  /** Canonical `feature:<name>` or `tag:<name>`. */
  segmentation: string;
  drift: DriftRule | undefined;
  quality: QualityRule | undefined;
}

export interface LossChangeRule {
  historyMs: number;
  labelDelayMs: number;
}

/** @default '7d' */
export const DEFAULT_LOSS_HISTORY = '7d';

export interface RetrainRules {
  drift: DriftRule | undefined;
  quality?: QualityRule | undefined;
  segments?: readonly SegmentRule[] | undefined;
  lossChange?: LossChangeRule | undefined;
  performance: PerformanceRule | undefined;
  cooldownMs: number;
}

/** The policy with its defaults, in the units evaluation works with. */
export function retrainRules(policy: RetrainPolicy): RetrainRules {
  const d = policy.drift;
  const p = policy.performance;
  return {
    drift: d && driftRule(d),
    performance: p && {
      metric: p.metric,
      min: p.min,
      maxDrop: p.max_drop,
      minLabeled: p.min_labeled ?? DEFAULT_MIN_LABELED,
      labelDelayMs: p.estimated === true ? 0 : (parseDuration(p.label_delay ?? DEFAULT_LABEL_DELAY) ?? 0),
      ...(p.estimated === true ? { estimated: true } : {}),
    },
    ...(policy.quality ? { quality: qualityRule(policy.quality) } : {}),
    ...(policy.segments
      ? {
          segments: policy.segments.map((c) => ({
            segmentation: formatSegment(parseSegment(c.segment)),
            drift: c.drift && driftRule(c.drift),
            quality: c.quality && qualityRule(c.quality),
          })),
        }
      : {}),
    ...(policy.loss_change
      ? {
          lossChange: {
            historyMs: parseDuration(policy.loss_change.history ?? DEFAULT_LOSS_HISTORY) ?? 0,
            labelDelayMs: parseDuration(policy.loss_change.label_delay ?? DEFAULT_LABEL_DELAY) ?? 0,
          },
        }
      : {}),
    cooldownMs: parseDuration(policy.cooldown ?? DEFAULT_COOLDOWN) ?? 0,
  };
}

function driftRule(d: z.infer<typeof driftCondition>): DriftRule {
  return {
    datasetDrift: d.dataset_drift ?? false,
    columns: d.columns ?? [],
    consecutiveWindows: d.consecutive_windows ?? DEFAULT_CONSECUTIVE_WINDOWS,
  };
}

function qualityRule(q: z.infer<typeof qualityCondition>): QualityRule {
  return {
    columns: q.columns ?? [],
    checks: q.checks ?? QUALITY_CHECKS,
    consecutiveWindows: q.consecutive_windows ?? DEFAULT_CONSECUTIVE_WINDOWS,
  };
}
