/** A model's drift settings: the `drift` section of its policy (PUT /models/:model/policy). */
import { z } from 'zod';
import {
  DEFAULT_DATASET_DRIFT_SHARE,
  DEFAULT_THRESHOLDS,
  DRIFT_METHODS,
  METHOD_KINDS,
  usesPValue,
  type ColumnKind,
  type DriftMethod,
  type MethodOption,
} from '../statistics/index.js';
import {
  DURATION_PATTERN,
  BUCKET_PATTERN,
  parseDuration,
  parseBucket,
  type Bucket,
} from '../../platform/time/index.js';

/** @default '1h' */
export const DEFAULT_EVALUATION_WINDOW = '1h';
/** How long after a window's end late events are still waited for. @default '5m' */
export const DEFAULT_ALLOWED_LATENESS = '5m';

export const METHOD_OPTIONS = ['auto', ...DRIFT_METHODS] as const;
const methodOption = z.enum(METHOD_OPTIONS);
const kind = z.enum(['numerical', 'categorical']);
const threshold = z.number().positive('must be above 0').refine(Number.isFinite, 'must be a finite number');
const pThreshold = threshold.max(1, 'a p-value threshold must be at most 1');

const columnSettings = z
  .strictObject({ kind: kind.optional(), method: methodOption.optional(), threshold: threshold.optional() })
  .superRefine((c, ctx) => {
    if (c.kind && c.method && c.method !== 'auto' && !METHOD_KINDS[c.method].includes(c.kind)) {
      ctx.addIssue({
        code: 'custom',
        path: ['method'],
        message: `${c.method} does not apply to ${c.kind} columns`,
      });
    }
    if (
      c.method &&
      c.method !== 'auto' &&
      usesPValue(c.method) &&
      c.threshold !== undefined &&
      c.threshold > 1
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['threshold'],
        message: `${c.method} compares a p-value: the threshold must be at most 1`,
      });
    }
  });

/** The wire form, snake_case like the rest of the API; every field optional. */
export const driftPolicySchema = z.strictObject({
  method: methodOption.optional(),
  columns: z.record(z.string().min(1).max(256), columnSettings).optional(),
  thresholds: z
    .strictObject({
      ks: pThreshold.optional(),
      chi2: pThreshold.optional(),
      wasserstein: threshold.optional(),
      psi: threshold.optional(),
      jensenshannon: threshold.optional(),
    })
    .optional(),
  dataset_drift_share: z.number().gt(0, 'must be above 0').lte(1, 'must be at most 1').optional(),
  evaluation_window: z
    .string()
    .regex(new RegExp(BUCKET_PATTERN), "expected '<n>m', '<n>h', '<n>d', '1w' or 'month'")
    .refine(
      (s) => parseBucket(s) !== undefined,
      "expected '<n>m', '<n>h', '<n>d' (up to 366 days), '1w' or 'month'",
    )
    .optional(),
  allowed_lateness: z
    .string()
    .regex(new RegExp(DURATION_PATTERN), "expected '<n>s', '<n>m', '<n>h' or '<n>d'")
    .refine((s) => parseDuration(s) !== undefined, "expected '<n>s', '<n>m', '<n>h' or '<n>d'")
    .optional(),
});
export type DriftPolicy = z.infer<typeof driftPolicySchema>;

export interface ColumnSettings {
  kind?: ColumnKind | undefined;
  method?: MethodOption | undefined;
  threshold?: number | undefined;
}

export interface DriftSettings {
  method: MethodOption;
  columns: Readonly<Record<string, ColumnSettings>>;
  thresholds: Readonly<Record<DriftMethod, number>>;
  datasetDriftShare: number;
  evaluationWindow: Bucket;
  allowedLatenessMs: number;
}

/** The policy with every default filled in: what GET returns and what evaluation uses. */
export function effectiveDriftPolicy(policy: DriftPolicy = {}): Required<DriftPolicy> {
  return {
    method: policy.method ?? 'auto',
    columns: policy.columns ?? {},
    thresholds: { ...DEFAULT_THRESHOLDS, ...policy.thresholds },
    dataset_drift_share: policy.dataset_drift_share ?? DEFAULT_DATASET_DRIFT_SHARE,
    evaluation_window: policy.evaluation_window ?? DEFAULT_EVALUATION_WINDOW,
    allowed_lateness: policy.allowed_lateness ?? DEFAULT_ALLOWED_LATENESS,
  };
}

export function driftSettings(policy: DriftPolicy = {}): DriftSettings {
  const p = effectiveDriftPolicy(policy);
  return {
    method: p.method,
    columns: p.columns,
    thresholds: { ...DEFAULT_THRESHOLDS, ...p.thresholds },
    datasetDriftShare: p.dataset_drift_share,
    // Both were validated by the schema; the fallbacks only keep the types honest.
    evaluationWindow: parseBucket(p.evaluation_window) ?? parseBucket(DEFAULT_EVALUATION_WINDOW)!,
    allowedLatenessMs: parseDuration(p.allowed_lateness) ?? 0,
  };
}

export { DURATION_PATTERN, BUCKET_PATTERN };
