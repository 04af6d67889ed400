/** JSON schemas of the drift routes: Fastify validates with them, serializes with them and documents them at /docs. */
import { COLUMN_ROLES } from '../engine/types.js';
import { METHOD_OPTIONS, BUCKET_PATTERN } from '../engine/settings.js';
import { DRIFT_METHODS } from '../statistics/index.js';
import { errorSchema, nullableNumber } from '../../api/index.js';
import { MAX_EVENT_ID_LENGTH } from '../../platform/limits.js';
import {
  segmentHeaderSchema,
  segmentQueryProperty,
  segmentsSchema,
  sourceQueryProperty,
} from '../segments/schemas.js';

export { errorSchema };

export const modelParams = {
  type: 'object',
  properties: { model: { type: 'string', minLength: 1 } },
  required: ['model'],
} as const;

export const versionParams = {
  type: 'object',
  properties: { model: { type: 'string', minLength: 1 }, version: { type: 'string', minLength: 1 } },
  required: ['model', 'version'],
} as const;

export const driftQuerystring = {
  type: 'object',
  properties: {
    from: {
      type: 'string',
      description:
        "ISO-8601 (UTC when no offset) or epoch ms; inclusive, widened down to its bucket's start. Default: 24 buckets (without a bucket: one day) before `to`.",
    },
    to: {
      type: 'string',
      description:
        'ISO-8601 (UTC when no offset) or epoch ms; exclusive, widened up to a bucket boundary. Default: now.',
    },
    bucket: {
      type: 'string',
      pattern: BUCKET_PATTERN,
      description:
        '`5m`, `1h`, `1d`, `1w` (ISO week from Monday), `month` (calendar month), or `<n>m|h|d`; UTC-aligned. Omitted: one bucket for the whole range. At most 10000 buckets.',
    },
    method: {
      type: 'string',
      enum: [...METHOD_OPTIONS],
      description:
        "Method for every column it applies to (others keep their policy's method or auto). Default: the model's policy, else auto.",
    },
    version: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_EVENT_ID_LENGTH,
      description:
        'Model version; its reference is used. Default: the production version most recently first seen (any stage when none is in production).',
    },
    columns: {
      type: 'string',
      minLength: 1,
      maxLength: 65_536,
      description:
        'Only these columns, comma-separated (feature names; `prediction`, `score`, `label`). Default: every column of the reference.',
    },
    segment: segmentQueryProperty,
    source: sourceQueryProperty,
  },
  additionalProperties: false,
} as const;

const { segment: _segment, source: _source, ...reportProperties } = driftQuerystring.properties;

/** The report's parameters: the drift route's but `segment` and `source` (a 400, not ignored: the page has no segments). */
export const reportQuerystring = { ...driftQuerystring, properties: reportProperties } as const;

const columnSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    column: { type: 'string' },
    role: { type: 'string', enum: [...COLUMN_ROLES] },
    kind: { type: 'string', enum: ['numerical', 'categorical'] },
    method: { type: 'string', enum: [...DRIFT_METHODS] },
    statistic: {
      ...nullableNumber,
      description:
        'null: no values on one side, or chi2 = infinity (a category unseen in the reference; p_value is then 0)',
    },
    p_value: { ...nullableNumber, description: 'ks and chi2; null for the distances' },
    threshold: {
      type: 'number',
      description: 'ks, chi2: drift when p_value < threshold; others: drift when statistic >= threshold',
    },
    drifted: { type: 'boolean' },
    count: { type: 'integer', description: 'non-null values of the column in the bucket' },
  },
  required: ['column', 'role', 'kind', 'method', 'statistic', 'p_value', 'threshold', 'drifted', 'count'],
} as const;

export const bucketSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    start: { type: 'string', format: 'date-time' },
    end: { type: 'string', format: 'date-time' },
    count: { type: 'integer', description: 'predictions in the bucket' },
    drift_share: {
      type: 'number',
      description: 'share of drifted feature columns (among features with values in the bucket)',
    },
    dataset_drift: { type: 'boolean', description: 'drift_share >= the dataset drift share (default 0.5)' },
    columns: { type: 'array', items: columnSchema },
  },
  required: ['start', 'end', 'count', 'drift_share', 'dataset_drift', 'columns'],
} as const;

export const driftResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    reference: {
      type: 'object',
      properties: {
        revision: { type: 'integer' },
        source: { type: 'string', enum: ['rows', 'range'] },
        set_at: { type: 'string', format: 'date-time' },
        rows: { type: 'integer' },
      },
      required: ['revision', 'source', 'set_at', 'rows'],
    },
    buckets: { type: 'array', items: bucketSchema, description: 'buckets holding predictions, oldest first' },
    segment: segmentHeaderSchema,
    segments: segmentsSchema(bucketSchema),
  },
  required: ['model_id', 'version', 'reference', 'buckets'],
} as const;

export const referenceBody = {
  type: 'object',
  description:
    "Either `rows` (uploaded training or validation rows) or `from` and `to` (a time range of this version's own predictions, with their labels).",
  properties: {
    rows: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        description:
          '{ feature…, prediction?, score?, label? } or { features: {…}, prediction?, score?, label? }; values number (finite), string, boolean or null',
      },
    },
    from: {
      anyOf: [{ type: 'string' }, { type: 'integer' }],
      description: 'ISO-8601 or epoch ms, inclusive',
    },
    to: { anyOf: [{ type: 'string' }, { type: 'integer' }], description: 'ISO-8601 or epoch ms, exclusive' },
  },
  additionalProperties: false,
} as const;

export const referenceResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    revision: { type: 'integer' },
    source: { type: 'string', enum: ['rows', 'range'] },
    from: { type: ['string', 'null'] },
    to: { type: ['string', 'null'] },
    rows: { type: 'integer' },
    set_at: { type: 'string', format: 'date-time' },
    columns: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          column: { type: 'string' },
          role: { type: 'string', enum: [...COLUMN_ROLES] },
          value_type: { type: 'string', enum: ['number', 'text'] },
          kind: { type: 'string', enum: ['numerical', 'categorical'] },
          n: { type: 'integer' },
          nulls: { type: 'integer' },
          distinct: { type: 'integer' },
        },
        required: ['column', 'role', 'value_type', 'kind', 'n', 'nulls', 'distinct'],
      },
    },
  },
  required: ['model_id', 'version', 'revision', 'source', 'from', 'to', 'rows', 'set_at', 'columns'],
} as const;
