import { errorSchema, nullableNumber } from '../../api/index.js';
import { BUCKET_PATTERN, DEFAULT_BUCKETS, MAX_BUCKETS } from '../../platform/time/index.js';
import { MAX_EVENT_ID_LENGTH } from '../../platform/limits.js';

export { errorSchema };

export const estimationQuerystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: {
      type: 'string',
      maxLength: 64,
      description: `ISO-8601 (UTC) or epoch ms; inclusive, widened down to its bucket's start. Default: ${DEFAULT_BUCKETS} buckets before the end of the range.`,
    },
    to: {
      type: 'string',
      maxLength: 64,
      description: 'ISO-8601 (UTC) or epoch ms; exclusive, widened up to a bucket boundary. Default: now.',
    },
    bucket: {
      type: 'string',
      pattern: BUCKET_PATTERN,
      default: '1d',
      description: `\`5m\`, \`1h\`, \`1d\`, \`1w\`, \`month\`, or \`<n>m|h|d\` up to 366 days; UTC-aligned. At most ${MAX_BUCKETS} per request.`,
    },
    version: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      description:
        "The version; default: the drift route's, among the binary-classification versions (the latest first seen in production, else the latest first seen).",
    },
  },
} as const;

const metricsObject = (description: string) =>
  ({
    type: 'object',
    description,
    additionalProperties: false,
    properties: {
      roc_auc: nullableNumber,
      accuracy: nullableNumber,
      precision: nullableNumber,
      recall: nullableNumber,
      f1: nullableNumber,
    },
    required: ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'],
  }) as const;

const band = {
  anyOf: [{ type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 }, { type: 'null' }],
} as const;

const bucketSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'string', format: 'date-time', description: 'inclusive' },
    end: { type: 'string', format: 'date-time', description: 'exclusive' },
    count: { type: 'integer', description: 'predictions with a finite score (the rows estimated over)' },
    estimated: metricsObject(
      'NannyML CBPE estimates from the calibrated scores; null where undefined, and all null in a bucket holding a score ' +
        'outside [0, 1] when the version is not calibrated',
    ),
    band: {
      type: 'object',
      description:
        'mean ± 3 std of the realized reference buckets (clipped to [0, 1]), as NannyML computes them (a reference ' +
        'bucket with one label class, or for precision, recall and F1 one predicted class, is left out); null (no alert) ' +
        `with fewer than 2 such buckets, or when the reference period cut into the bucket exceeds ${MAX_BUCKETS} buckets: see \`warnings\``,
      additionalProperties: false,
      properties: { roc_auc: band, accuracy: band, precision: band, recall: band, f1: band },
      required: ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'],
    },
    alerts: {
      type: 'array',
      items: { type: 'string' },
      description: 'metrics whose estimate is outside its band',
    },
    realized: {
      anyOf: [metricsObject("the metrics route's figures where labels exist"), { type: 'null' }],
    },
  },
  required: ['start', 'end', 'count', 'estimated', 'band', 'alerts', 'realized'],
} as const;

export const estimationResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    method: { type: 'string', enum: ['cbpe'] },
    calibrated: {
      type: 'boolean',
      description: 'whether isotonic calibration is applied (NannyML decision)',
    },
    reference: {
      type: 'object',
      additionalProperties: false,
      properties: {
        from: { type: 'string', format: 'date-time' },
        to: { type: 'string', format: 'date-time' },
        revision: { type: 'integer' },
        rows: { type: 'integer', description: 'labeled reference rows with a finite score' },
        positives: { type: 'integer' },
        calibration_reason: {
          type: 'string',
          enum: ['single_class', 'separable', 'too_few_rows', 'ece', 'no_rows'],
        },
        ece_before: nullableNumber,
        ece_after: nullableNumber,
      },
      required: [
        'from',
        'to',
        'revision',
        'rows',
        'positives',
        'calibration_reason',
        'ece_before',
        'ece_after',
      ],
    },
    warnings: {
      type: 'array',
      items: { type: 'string' },
      description:
        'why bands or estimates are missing or provisional: a reference too short (or too finely cut) for a band, unusable or missing scores, no labels yet, a refit pending',
    },
    buckets: { type: 'array', items: bucketSchema },
  },
  required: ['model_id', 'version', 'method', 'calibrated', 'reference', 'warnings', 'buckets'],
} as const;
