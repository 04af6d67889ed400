/**
 * The `segments` policy section: how many segments an answer holds before the rest are
 * `other`, and per segmentation (`feature:region`) the bucket a segmented request uses when it
 * names none: a small segment may need longer windows than the whole population to hold enough
 * predictions for a test.
 */
import { z } from 'zod';
import { BUCKET_PATTERN, parseBucket, type Bucket } from '../platform/time/index.js';
import { formatSegment, parseSegment, MAX_SEGMENT_PARAM_LENGTH } from './spec.js';

/** Segments one answer may hold besides `other` and the predictions without a value. */
export const MAX_SEGMENTS = 50;
/** @default 10 */
export const DEFAULT_MAX_SEGMENTS = 10;
/** Segmentations the policy may declare windows for. */
export const MAX_DECLARED_WINDOWS = 20;

const segmentKey = z
  .string()
  .max(MAX_SEGMENT_PARAM_LENGTH)
  .refine(
    (s) => {
      try {
        parseSegment(s);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected feature:<name> or tag:<name>' },
  );

export const segmentsPolicySchema = z
  .object({
    max_segments: z.number().int().min(1).max(MAX_SEGMENTS).optional(),
    evaluation_windows: z
      .record(
        segmentKey,
        z
          .string()
          .regex(new RegExp(BUCKET_PATTERN), "expected '<n>m', '<n>h', '<n>d', '1w' or 'month'")
          .refine((s) => parseBucket(s) !== undefined, { message: 'not a bucket (up to 366 days)' }),
      )
      .refine((r) => Object.keys(r).length <= MAX_DECLARED_WINDOWS, {
        message: `at most ${MAX_DECLARED_WINDOWS} segmentations`,
      })
      .optional(),
    /**
     * Segmentations the evaluation loop stores per-segment windows for, on the drift policy's
     * evaluation window (a segmentation in `evaluation_windows` is stored on its declared one).
     */
    evaluate: z.array(segmentKey).max(MAX_DECLARED_WINDOWS).optional(),
  })
  .strict()
  .refine((p) => declaredSegmentations(p).length <= MAX_DECLARED_WINDOWS, {
    message: `at most ${MAX_DECLARED_WINDOWS} segmentations in evaluate and evaluation_windows together`,
  });

export type SegmentsPolicy = z.infer<typeof segmentsPolicySchema>;

/** The segmentations of `evaluate` and `evaluation_windows`, each once, in canonical form. */
function declaredSegmentations(policy: {
  evaluate?: readonly string[] | undefined;
  evaluation_windows?: Record<string, string> | undefined;
}): string[] {
  const all = [...(policy.evaluate ?? []), ...Object.keys(policy.evaluation_windows ?? {})];
  const canonical = all.flatMap((s) => {
    try {
      return [formatSegment(parseSegment(s))];
    } catch {
      // Reported by the key's own check; a refinement may still run on a partly invalid object.
      return [];
    }
  });
  return [...new Set(canonical)];
}

export interface SegmentSettings {
  maxSegments: number;
  /** The declared window of a segmentation (`feature:region`), if any. */
  windowFor(segment: string): Bucket | undefined;
  /** Segmentations with stored per-segment windows (`evaluate` and `evaluation_windows`), canonical. */
  declared: readonly string[];
}

export function segmentSettings(policy: SegmentsPolicy): SegmentSettings {
  return {
    maxSegments: policy.max_segments ?? DEFAULT_MAX_SEGMENTS,
    declared: declaredSegmentations(policy),
    windowFor: (segment) => {
      const text = policy.evaluation_windows?.[segment];
      return text === undefined ? undefined : parseBucket(text);
    },
  };
}
