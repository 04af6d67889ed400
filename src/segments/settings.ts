/**
 * The `segments` policy section: how many segments an answer holds before the rest are
 * `other`, and per segmentation (`feature:region`) the bucket a segmented request uses when it
 * names none: a small segment may need longer windows than the whole population to hold enough
 * predictions for a test.
 */
import { z } from 'zod';
import { BUCKET_PATTERN, parseBucket, type Bucket } from '../platform/time/index.js';
import { parseSegment, MAX_SEGMENT_PARAM_LENGTH } from './spec.js';

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
  })
  .strict();

export type SegmentsPolicy = z.infer<typeof segmentsPolicySchema>;

export interface SegmentSettings {
  maxSegments: number;
  /** The declared window of a segmentation (`feature:region`), if any. */
  windowFor(segment: string): Bucket | undefined;
}

export function segmentSettings(policy: SegmentsPolicy): SegmentSettings {
  return {
    maxSegments: policy.max_segments ?? DEFAULT_MAX_SEGMENTS,
    windowFor: (segment) => {
      const text = policy.evaluation_windows?.[segment];
      return text === undefined ? undefined : parseBucket(text);
    },
  };
}
