/** JSON schemas a segmented answer adds to the drift and quality routes' (validation, serialization, /docs). */
import { MAX_SEGMENT_PARAM_LENGTH } from '../../segments/index.js';

export const segmentQueryProperty = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_SEGMENT_PARAM_LENGTH,
  description:
    '`feature:<name>` (a categorical feature of the reference) or `tag:<name>` (a prediction tag): the answer adds ' +
    "`segments`, the same buckets per value (the policy's `segments.max_segments` most frequent, default 10; the rest as " +
    '`other`; predictions without a value as value null). Without a bucket, the policy may declare one per segmentation.',
} as const;

export const segmentHeaderSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    by: { type: 'string' },
    max_segments: { type: 'integer' },
    source: { type: 'string', enum: ['stored'], description: "the segments' buckets are stored windows" },
  },
  required: ['by', 'max_segments'],
} as const;

/** Segments whose buckets have the shape `bucket`. */
export function segmentsSchema<B extends object>(bucket: B) {
  return {
    type: 'array',
    description: 'per segment, most predictions first; then `other`, then the predictions without a value',
    items: {
      type: 'object',
      additionalProperties: false,
      properties: {
        value: { type: ['string', 'null'] },
        other: { type: 'boolean', description: 'the values beyond the most frequent max_segments, together' },
        predictions: { type: 'integer' },
        reference: {
          type: 'string',
          enum: ['segment', 'population', 'mixed'],
          description:
            "segment: measured against the segment's own predictions in the reference range (drift), or with their missing " +
            "rates as the baseline (quality; ranges and categories are the whole reference's); population: the whole reference " +
            "(an uploaded reference, fewer than the policy's `segments.min_reference_rows` rows of the segment in the reference " +
            'range, default 100, or too many to read); mixed (drift): its own rows, except the columns in `population_columns`',
        },
        population_columns: {
          type: 'array',
          items: { type: 'string' },
          description:
            "with reference `mixed`: the columns measured against the whole reference's, the segment's own reference " +
            'holding fewer than `segments.min_reference_rows` values of them (e.g. a feature the segment never sent then)',
        },
        note: {
          type: 'string',
          description:
            'why the segment is measured against the whole reference when it is not for too few rows (its rows of the ' +
            'reference range hold more values than MODELWATCH_DRIFT_MAX_WINDOW_VALUES)',
        },
        buckets: { type: 'array', items: bucket },
      },
      required: ['value', 'other', 'predictions', 'reference', 'buckets'],
    },
  } as const;
}

export const sourceQueryProperty = {
  type: 'string',
  enum: ['computed', 'stored'],
  description:
    "With `segment`: `stored` reads the segments' buckets from the windows the segment loop stored for a segmentation the " +
    'policy declares (`segments.evaluate` or `segments.evaluation_windows`), each window split by its own most frequent values; ' +
    "the bucket is the stored windows' (another is a 400). Default `computed`: computed now over the requested range.",
} as const;
