/** A model's drift settings: the `drift` section of its policy (PUT /models/:model/policy). */
import { z } from 'zod';
import { METHOD_KINDS, usesPValue } from '../statistics/index.js';
import { DURATION_PATTERN, BUCKET_PATTERN, parseDuration, parseBucket } from '../../platform/time/index.js';
import { METHOD_OPTIONS, type DriftPolicy } from './settings-core.js';

export {
  DEFAULT_ALLOWED_LATENESS,
  DEFAULT_EVALUATION_WINDOW,
  METHOD_OPTIONS,
  driftSettings,
  effectiveDriftPolicy,
  type ColumnSettings,
  type DriftPolicy,
  type DriftSettings,
} from './settings-core.js';

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
/** The schema and `DriftPolicy` (declared without zod in settings-core.ts) describe one shape. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const POLICY_SHAPE_MATCHES: Same<z.infer<typeof driftPolicySchema>, DriftPolicy> = true;

export { DURATION_PATTERN, BUCKET_PATTERN };
