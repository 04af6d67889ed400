import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import type { ModelRegistry } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { parseBucket, resolveRange } from '../platform/time/index.js';
import { computeModelMetrics } from './model-metrics.js';
import { computeSegmentMetrics } from './segment-metrics.js';
import { parseSegment, SegmentError } from '../segments/index.js';
import { errorBody } from '../api/index.js';
import { errorSchema, metricsQuerystring, metricsResponse } from './schemas.js';

export interface MetricsRoutesDeps {
  db: Database;
  models: ModelRegistry;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
  /** The segment reads' memory bound (MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES). @default 256 MiB */
  segmentMaxMemoryBytes?: number | undefined;
}

/** GET /models/:model/metrics (SPEC 9). */
export function metricsRoutes(deps: MetricsRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/metrics',
      {
        config: { role: 'viewer', computed: true },
        schema: {
          summary: 'Serving and quality metrics per version and time bucket',
          description:
            'Buckets by prediction event time, ascending by start then version; only buckets holding predictions. ' +
            'Quality metrics use the labels joined so far, so a late label updates the bucket of its prediction. ' +
            "Fields that do not apply to the version's task are null.",
          tags: ['metrics'],
          params: {
            type: 'object',
            properties: { model: { type: 'string', minLength: 1 } },
            required: ['model'],
          },
          querystring: metricsQuerystring,
          response: { 200: metricsResponse, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { model } = request.params;
        const { version } = request.query;
        const bucket = parseBucket(request.query.bucket);
        if (!bucket)
          return reply
            .code(400)
            .send(
              errorBody(
                400,
                `querystring/bucket: '${request.query.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d up to 366 days)`,
              ),
            );
        const range = resolveRange({ from: request.query.from, to: request.query.to, bucket }, now());
        if (!range.ok) return reply.code(400).send(errorBody(400, range.message));
        const known = await deps.models.list(model);
        if (known.length === 0) return reply.code(404).send(errorBody(404, `unknown model '${model}'`));
        const versions = version === undefined ? known : known.filter((v) => v.model_version === version);
        if (versions.length === 0) {
          return reply.code(404).send(errorBody(404, `model '${model}' has no version '${version ?? ''}'`));
        }
        const metricsRequest = { model, versions, bucket: bucket.text, from: range.from, to: range.to };
        const { segment } = request.query;
        if (segment === undefined) return computeModelMetrics(deps.db, metricsRequest);
        try {
          // A bad segment parameter is refused before anything is computed.
          parseSegment(segment);
          const overall = await computeModelMetrics(deps.db, metricsRequest);
          return {
            ...overall,
            ...(await computeSegmentMetrics(deps.db, metricsRequest, segment, undefined, {
              maxMemoryBytes: deps.segmentMaxMemoryBytes,
            })),
          };
        } catch (err) {
          if (err instanceof SegmentError)
            return reply.code(err.status).send(errorBody(err.status, err.message));
          throw err;
        }
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
