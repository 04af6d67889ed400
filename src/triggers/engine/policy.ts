/** The `retrain` section of a model's policy (SPEC 6), validated strictly: unknown fields are a 400. */
import { z } from 'zod';
import { ESTIMATED_METRICS } from '../../performance-estimation/index.js';
import { QUALITY_CHECKS, type QualityCheck } from '../../drift/index.js';
import { DURATION_PATTERN, parseDuration } from '../../platform/time/index.js';

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
    label_delay: duration.optional(),
    /** Judge CBPE's estimates (SPEC 4.1) instead of the labeled metrics: a retrain before the labels arrive. */
    estimated: z.boolean().optional(),
  })
  .refine((p) => p.min !== undefined || p.max_drop !== undefined, { message: 'set min, max_drop or both' })
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

export const retrainPolicySchema = z
  .strictObject({
    drift: driftCondition.optional(),
    performance: performanceCondition.optional(),
    quality: qualityCondition.optional(),
    cooldown: duration.optional(),
  })
  .refine((r) => r.drift !== undefined || r.performance !== undefined || r.quality !== undefined, {
    message: 'set drift, performance, quality or several of them',
  });

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

export interface RetrainRules {
  drift: DriftRule | undefined;
  quality?: QualityRule | undefined;
  performance: PerformanceRule | undefined;
  cooldownMs: number;
}

/** The policy with its defaults, in the units evaluation works with. */
export function retrainRules(policy: RetrainPolicy): RetrainRules {
  const d = policy.drift;
  const p = policy.performance;
  return {
    drift: d && {
      datasetDrift: d.dataset_drift ?? false,
      columns: d.columns ?? [],
      consecutiveWindows: d.consecutive_windows ?? DEFAULT_CONSECUTIVE_WINDOWS,
    },
    performance: p && {
      metric: p.metric,
      min: p.min,
      maxDrop: p.max_drop,
      minLabeled: p.min_labeled ?? DEFAULT_MIN_LABELED,
      labelDelayMs: p.estimated === true ? 0 : (parseDuration(p.label_delay ?? DEFAULT_LABEL_DELAY) ?? 0),
      ...(p.estimated === true ? { estimated: true } : {}),
    },
    ...(policy.quality
      ? {
          quality: {
            columns: policy.quality.columns ?? [],
            checks: policy.quality.checks ?? QUALITY_CHECKS,
            consecutiveWindows: policy.quality.consecutive_windows ?? DEFAULT_CONSECUTIVE_WINDOWS,
          },
        }
      : {}),
    cooldownMs: parseDuration(policy.cooldown ?? DEFAULT_COOLDOWN) ?? 0,
  };
}
