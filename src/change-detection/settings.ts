/**
 * The `change_detection` policy section and the route's overrides: Page-Hinkley's parameters,
 * each bounded so a hostile value is a 400 naming it rather than a detector that never (or
 * always) fires by accident of arithmetic.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from '../platform/time/index.js';
import { PAGE_HINKLEY_DEFAULTS, type PageHinkleyOptions } from './page-hinkley.js';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const changeDetectionPolicySchema = z
  .object({
    min_instances: z.number().int().min(1).max(1_000_000).optional(),
    delta: finite.pipe(z.number().min(0).max(1e9)).optional(),
    threshold: finite.pipe(z.number().gt(0).max(1e12)).optional(),
    alpha: finite.pipe(z.number().gt(0).max(1)).optional(),
    mode: z.enum(['up', 'down', 'both']).optional(),
    /** The trailing range the gauges watch (a model with this section gets them). @default 7d */
    window: z
      .string()
      .regex(new RegExp(DURATION_PATTERN), "expected a duration: '<n>s', '<n>m', '<n>h' or '<n>d'")
      .refine((s) => (parseDuration(s) ?? 0) >= 60_000 && (parseDuration(s) ?? 0) <= 366 * 86_400_000, {
        message: 'between 1m and 366d',
      })
      .optional(),
  })
  .strict();

export type ChangeDetectionPolicy = z.infer<typeof changeDetectionPolicySchema>;

/** Policy values over the defaults (River's), then the request's over those. */
export function detectorOptions(
  policy: ChangeDetectionPolicy,
  request: ChangeDetectionPolicy = {},
): Required<PageHinkleyOptions> {
  const pick = <K extends Exclude<keyof ChangeDetectionPolicy, 'window'>>(k: K) => request[k] ?? policy[k];
  return {
    minInstances: pick('min_instances') ?? PAGE_HINKLEY_DEFAULTS.minInstances,
    delta: pick('delta') ?? PAGE_HINKLEY_DEFAULTS.delta,
    threshold: pick('threshold') ?? PAGE_HINKLEY_DEFAULTS.threshold,
    alpha: pick('alpha') ?? PAGE_HINKLEY_DEFAULTS.alpha,
    mode: pick('mode') ?? PAGE_HINKLEY_DEFAULTS.mode,
  };
}

/** @default 7 days */
export const DEFAULT_GAUGE_WINDOW_MS = 7 * 86_400_000;

/** The first issue of a failed parse as `where: message`. */
export function firstIssue(error: z.ZodError, prefix: string): string {
  const issue = error.issues[0];
  if (!issue) return `${prefix}: invalid`;
  const path = issue.path.length > 0 ? `${prefix}/${issue.path.join('/')}` : prefix;
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field(s) ${issue.keys.join(', ')}`;
  return `${path}: ${issue.message}`;
}
