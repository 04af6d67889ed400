import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import { errorBody, errorSchema, nullableNumber } from '../api/index.js';
import type { ModelRegistry } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { BUCKET_PATTERN, MAX_BUCKETS, parseBucket, resolveRange } from '../platform/time/index.js';
import { QUALITY_FIELDS, shadowReport } from './report.js';

export interface ShadowRoutesDeps {
  db: Database;
  models: ModelRegistry;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

const quality = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(QUALITY_FIELDS.map((f) => [f, nullableNumber])) as Record<
    (typeof QUALITY_FIELDS)[number],
    typeof nullableNumber
  >,
} as const;

const shadowResponse = {
  type: 'object',
  additionalProperties: false,
  properties: {
    model_id: { type: 'string' },
    challengers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          version: { type: 'string' },
          buckets: {
            type: 'array',
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                start: { type: 'string' },
                end: { type: 'string' },
                scored: { type: 'integer' },
                failed: { type: 'integer' },
                agreement: nullableNumber,
                mean_abs_score_diff: nullableNumber,
                max_abs_score_diff: nullableNumber,
                labeled: { type: 'integer' },
                production: quality,
                challenger: quality,
              },
            },
          },
        },
      },
    },
  },
} as const;

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: {
      type: 'string',
      description: 'ISO-8601 or epoch ms; inclusive, widened down to its bucket start',
    },
    to: { type: 'string', description: 'ISO-8601 or epoch ms; exclusive. Default: now' },
    bucket: {
      type: 'string',
      pattern: BUCKET_PATTERN,
      default: '1h',
      description: `as the metrics route; at most ${MAX_BUCKETS} per request`,
    },
  },
} as const;

/** GET /models/:model/shadow (viewer): challengers beside production (SPEC 7). */
export function shadowRoutes(deps: ShadowRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/shadow',
      {
        config: { role: 'viewer', computed: true },
        schema: {
          summary: 'Shadow scoring: each challenger beside production, per time bucket',
          description:
            "Buckets by the prediction's event time, only those holding shadow rows. agreement: share of scored rows where the challenger's label equals production's prediction; score differences: the challenger's positive-class probability against production's score (regression: the challenger's value against production's numeric prediction, and agreement null); quality: the metrics route's figures on the labeled scored rows, production's on the same rows.",
          tags: ['shadow'],
          params: {
            type: 'object',
            properties: { model: { type: 'string', minLength: 1 } },
            required: ['model'],
          },
          querystring,
          response: { 200: shadowResponse, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { model } = request.params;
        const bucket = parseBucket(request.query.bucket);
        if (!bucket)
          return reply
            .code(400)
            .send(errorBody(400, `querystring/bucket: '${request.query.bucket}' is not a bucket`));
        const range = resolveRange({ from: request.query.from, to: request.query.to, bucket }, now());
        if (!range.ok) return reply.code(400).send(errorBody(400, range.message));
        const versions = await deps.models.list(model);
        if (versions.length === 0) return reply.code(404).send(errorBody(404, `unknown model '${model}'`));
        return shadowReport(deps.db, { model, versions, bucket, from: range.from, to: range.to });
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
