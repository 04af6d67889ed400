/** `GET /predictions/:id/provenance` (auditor, SPEC 8 and 9); the shape is in README.md (Provenance). */
import type { FastifyPluginAsync } from 'fastify';
import { errorSchema, nullableNumber } from '../api/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { readProvenance, type ProvenanceDeps } from './provenance.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

const text = { type: 'string' } as const;
const nullableText = { type: ['string', 'null'] } as const;

const version = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    registered: { type: 'boolean', description: 'registered with an artifact (not only seen in traffic)' },
    task: text,
    stage: text,
    artifact_sha256: nullableText,
    training_data: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { uri: text, sha256: nullableText },
    },
  },
} as const;

const prediction = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: text,
    model_version: text,
    timestamp: text,
    prediction: text,
    score: nullableNumber,
    probabilities: { type: 'object', additionalProperties: { type: 'number' } },
    latency_ms: nullableNumber,
    status: { type: 'string', enum: ['ok', 'error'] },
    entity_id: nullableText,
    request_id: nullableText,
    features: { type: 'object', additionalProperties: { type: ['number', 'string'] } },
    ingested_at: text,
    version,
    labels: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { model_id: nullableText, label: text, timestamp: text, ingested_at: text },
      },
    },
    shadow: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          challenger_version: text,
          label: text,
          score: nullableNumber,
          failed: { type: 'boolean' },
          failure: nullableText,
          scored_at: text,
        },
      },
    },
  },
} as const;

const access = {
  type: 'object',
  additionalProperties: false,
  properties: {
    chain: text,
    position: { type: 'integer' },
    hash: text,
    matched: { type: 'string', enum: ['prediction', 'entity'] },
    record: {
      type: 'object',
      additionalProperties: true,
      description: 'the audit record (its JCS text was hashed)',
    },
  },
} as const;

export function provenanceRoute(deps: ProvenanceDeps): FastifyPluginAsync {
  return (app) => {
    app.get<{ Params: { id: string } }>(
      '/predictions/:id/provenance',
      {
        config: { role: 'auditor', expensive: true },
        schema: {
          summary: 'A prediction, its model version, labels, shadow scores and every audited access to it',
          tags: ['audit'],
          params: {
            type: 'object',
            properties: { id: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH } },
            required: ['id'],
          },
          response: {
            200: {
              type: 'object',
              additionalProperties: false,
              properties: {
                prediction_id: text,
                predictions: { type: 'array', items: prediction },
                accesses: { type: 'array', items: access },
                accesses_total: { type: 'integer' },
              },
            },
            400: errorSchema,
            404: errorSchema,
          },
        },
      },
      async (request) => {
        const found = await readProvenance(deps, request.params.id);
        if (!found) throw new ModelwatchError('NOT_FOUND', `params/id: no prediction '${request.params.id}'`);
        return found;
      },
    );
    return Promise.resolve();
  };
}
