/** JSON schemas of the change-detection route (validation, serialization, /docs). */
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';
import { MAX_SEGMENT_PARAM_LENGTH } from '../segments/index.js';
const text = (description: string, maxLength = 64) => ({ type: 'string', maxLength, description }) as const;

export const changeQuerystring = {
  type: 'object',
  properties: {
    from: text('ISO-8601 or epoch ms, inclusive. Default: 7 days before `to`.'),
    to: text('ISO-8601 or epoch ms, exclusive. Default: now.'),
    version: {
      type: 'string',
      minLength: 1,
      // As long as the collectors accept, or an ingested version could not be asked for.
      maxLength: MAX_EVENT_ID_LENGTH,
      description: 'Default: the latest version in production.',
    },
    min_instances: text('values before a change can be detected (1..1000000). Default 30.'),
    delta: text('change tolerated per value (0..1e9). Default 0.005.'),
    threshold: text('detection threshold lambda (> 0). Default 50.'),
    alpha: text('forgetting factor in (0, 1]. Default 0.9999.'),
    mode: { type: 'string', enum: ['up', 'down', 'both'], description: 'Default both.' },
    segment: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_SEGMENT_PARAM_LENGTH,
      description: '`feature:<name>` or `tag:<name>`, with `value`: only the predictions of that segment.',
    },
    value: {
      type: 'string',
      maxLength: 1024,
      description:
        "the segment's value (with `segment`); at most 1,024 characters, a tag value's limit (a longer feature value cannot be asked for)",
    },
  },
  additionalProperties: false,
} as const;

const detection = {
  type: 'object',
  properties: {
    index: { type: 'integer' },
    timestamp: { type: 'string' },
    prediction_id: { type: 'string' },
    mean_before: { type: 'number' },
    mean_after: { type: ['number', 'null'] },
  },
  required: ['index', 'timestamp', 'prediction_id', 'mean_before', 'mean_after'],
  additionalProperties: false,
} as const;

export const changeResponse = {
  type: 'object',
  properties: {
    model_id: { type: 'string' },
    version: { type: 'string' },
    task: { type: 'string' },
    loss: { type: 'string', enum: ['zero_one', 'absolute_error'] },
    from: { type: 'string' },
    to: { type: 'string' },
    parameters: {
      type: 'object',
      properties: {
        min_instances: { type: 'integer' },
        delta: { type: 'number' },
        threshold: { type: 'number' },
        alpha: { type: 'number' },
        mode: { type: 'string' },
      },
      required: ['min_instances', 'delta', 'threshold', 'alpha', 'mode'],
      additionalProperties: false,
    },
    values: { type: 'integer', description: 'labeled predictions in range: the length of the loss stream' },
    mean_loss: { type: ['number', 'null'] },
    detections: { type: 'array', items: detection },
  },
  required: [
    'model_id',
    'version',
    'task',
    'loss',
    'from',
    'to',
    'parameters',
    'values',
    'mean_loss',
    'detections',
  ],
  additionalProperties: false,
} as const;
