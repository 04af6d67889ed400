import type { FromSchema } from 'json-schema-to-ts';
import { TASKS } from '../models/index.js';
import { BUCKET_PATTERN, DEFAULT_BUCKETS, MAX_BUCKETS } from '../platform/time/index.js';
import { errorSchema, nullableNumber } from '../api/index.js';
import { MAX_SEGMENT_PARAM_LENGTH } from '../segments/index.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

export { errorSchema };

export const metricsQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: {
      type: 'string',
      description: `ISO-8601 (UTC when no offset) or epoch ms; inclusive, widened down to its bucket's start. Default: ${DEFAULT_BUCKETS} buckets before the end of the range.`,
    },
    to: {
      type: 'string',
      description:
        'ISO-8601 (UTC when no offset) or epoch ms; exclusive, widened up to a bucket boundary. Default: now.',
    },
    bucket: {
      type: 'string',
      pattern: BUCKET_PATTERN,
      default: '1h',
      description: `\`5m\`, \`1h\`, \`1d\`, \`1w\` (ISO week from Monday), \`month\` (calendar month), or \`<n>m|h|d\` up to 366 days; UTC-aligned. At most ${MAX_BUCKETS} per request.`,
    },
    version: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      description: 'Only this version; otherwise one bucket series per version.',
    },
    segment: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_SEGMENT_PARAM_LENGTH,
      description:
        '`feature:<name>` or `tag:<name>`: the answer adds `segments`, the same buckets per value (the 10 most frequent; the rest as `other`; predictions without a value as value null).',
    },
  },
} as const;

const bucketSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'one bucket of one version (SPEC 9 shape plus task, throughput, label_coverage, positive_rate, macro_f1)',
  properties: {
    start: { type: 'string', format: 'date-time', description: 'inclusive' },
    end: { type: 'string', format: 'date-time', description: 'exclusive' },
    version: { type: 'string' },
    task: { type: 'string', enum: [...TASKS] },
    count: { type: 'integer' },
    throughput: { type: 'number', description: 'predictions per second over the whole bucket' },
    error_rate: { type: 'number' },
    latency_ms: {
      type: 'object',
      description:
        'exact percentiles, linear interpolation between order statistics; null when no prediction reported latency_ms',
      additionalProperties: false,
      properties: { p50: nullableNumber, p95: nullableNumber, p99: nullableNumber, max: nullableNumber },
      required: ['p50', 'p95', 'p99', 'max'],
    },
    labeled: { type: 'integer' },
    label_coverage: { type: 'number', description: 'labeled / count' },
    accuracy: nullableNumber,
    precision: nullableNumber,
    recall: nullableNumber,
    f1: nullableNumber,
    roc_auc: {
      ...nullableNumber,
      description: 'from score, ties averaged (scikit-learn roc_auc_score); null with one class',
    },
    positive_rate: { ...nullableNumber, description: 'binary: share of predictions of the positive class' },
    macro_f1: {
      ...nullableNumber,
      description: 'multiclass: mean per-class F1 over the classes seen in the bucket',
    },
    mae: nullableNumber,
    rmse: nullableNumber,
    mape: { ...nullableNumber, description: 'a fraction (0.1 = 10%); labels equal to 0 are left out' },
    r2: { ...nullableNumber, description: 'null with fewer than 2 numeric labels or constant labels' },
  },
  required: [
    'start',
    'end',
    'version',
    'task',
    'count',
    'throughput',
    'error_rate',
    'latency_ms',
    'labeled',
    'label_coverage',
    'accuracy',
    'precision',
    'recall',
    'f1',
    'roc_auc',
    'positive_rate',
    'macro_f1',
    'mae',
    'rmse',
    'mape',
    'r2',
  ],
} as const;

export const metricsResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    buckets: { type: 'array', items: bucketSchema },
    segment: {
      type: 'object',
      additionalProperties: false,
      properties: { by: { type: 'string' }, max_segments: { type: 'integer' } },
      required: ['by', 'max_segments'],
    },
    segments: {
      type: 'array',
      description: 'per segment, most predictions first; then `other`, then the predictions without a value',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          value: { type: ['string', 'null'] },
          other: { type: 'boolean' },
          predictions: { type: 'integer' },
          buckets: { type: 'array', items: bucketSchema },
        },
        required: ['value', 'other', 'predictions', 'buckets'],
      },
    },
  },
  required: ['model_id', 'buckets'],
} as const;

/** The route's answer and its buckets: types from the schemas that validate and document them. */
export type ModelMetrics = FromSchema<typeof metricsResponse>;
export type MetricsBucket = FromSchema<typeof bucketSchema>;
