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
/**
 * Rows of the reference range a segment needs before it is measured against its own rows, and
 * values a column of them needs before that column is (README: Per-segment references).
 * @default 100
 */
export const DEFAULT_MIN_REFERENCE_ROWS = 100;
/** The largest `min_reference_rows` a policy may set. */
export const MAX_MIN_REFERENCE_ROWS = 100_000_000;

const segmentKey = z
  .string()
  // A bound in UTF-16 units (zod's count) that lets a tag name of 256 code points through; the
  // refinement checks the exact limit as the routes do (code points for a tag name).
  .max(2 * MAX_SEGMENT_PARAM_LENGTH)
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
    /**
     * A segment with fewer rows in the reference range is measured against the whole reference;
     * a column of a segment's own reference holding fewer values is measured against the whole
     * reference's column.
     */
    min_reference_rows: z.number().int().min(1).max(MAX_MIN_REFERENCE_ROWS).optional(),
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
  /** See `min_reference_rows`. */
  minReferenceRows: number;
  /** The declared window of a segmentation (`feature:region`), if any. */
  windowFor(segment: string): Bucket | undefined;
  /** Segmentations with stored per-segment windows (`evaluate` and `evaluation_windows`), canonical. */
  declared: readonly string[];
}

export function segmentSettings(policy: SegmentsPolicy): SegmentSettings {
  return {
    maxSegments: policy.max_segments ?? DEFAULT_MAX_SEGMENTS,
    minReferenceRows: policy.min_reference_rows ?? DEFAULT_MIN_REFERENCE_ROWS,
    declared: declaredSegmentations(policy),
    windowFor: (segment) => {
      const text = policy.evaluation_windows?.[segment];
      return text === undefined ? undefined : parseBucket(text);
    },
  };
}
