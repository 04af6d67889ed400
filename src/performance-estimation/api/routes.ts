import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import { errorBody } from '../../api/index.js';
import { parseBucket, resolveRange } from '../../platform/time/index.js';
import { EstimationError } from '../errors.js';
import type { EstimationService } from '../service/estimation-service.js';
import { errorSchema, estimationQuerystring, estimationResponse } from './schemas.js';

export interface EstimationRoutesDeps {
  service: EstimationService;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

/** GET /models/:model/estimated-performance (SPEC 4.1). */
export function estimationRoutes(deps: EstimationRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/estimated-performance',
      {
        config: { role: 'viewer', computed: true },
        schema: {
          summary: 'Estimated performance before labels arrive (CBPE, binary classifiers)',
          description:
            "Per bucket of prediction event time: NannyML's CBPE estimates of ROC AUC, accuracy, precision, recall and F1 " +
            "from the scores calibrated on the version's drift reference period, the band of the reference buckets, " +
            'alerts, and the realized figures where labels exist. 409 when the version has no reference taken from a time range; ' +
            '503 with Retry-After when its calibrator could not be fitted (tried again after a few minutes) or the estimate ' +
            "ran over ClickHouse's time limit; 400 when it needs more memory than ClickHouse allows a query (narrow the range).",
          tags: ['metrics'],
          params: {
            type: 'object',
            properties: { model: { type: 'string', minLength: 1 } },
            required: ['model'],
          },
          querystring: estimationQuerystring,
          response: {
            200: estimationResponse,
            400: errorSchema,
            404: errorSchema,
            409: errorSchema,
            503: errorSchema,
          },
        },
      },
      async (request, reply) => {
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
        try {
          return await deps.service.estimate({
            model: request.params.model,
            version: request.query.version,
            bucket,
            from: range.from,
            to: range.to,
          });
        } catch (err) {
          if (!(err instanceof EstimationError)) throw err;
          // A retryable answer says when to come back, as the service's other 503s do: a
          // failed fit is tried again at `retryAt`.
          if (err.retryable) reply.header('retry-after', retryAfterSeconds(err, now()));
          return reply.code(err.status).send(errorBody(err.status, err.message));
        }
      },
    );
    return Promise.resolve();
  };
  return plugin;
}

/** Whole seconds until `retryAt` (at least 1), else the 5 the service's other 503s default to. */
function retryAfterSeconds(err: EstimationError, now: number): string {
  if (err.retryAt === undefined) return '5';
  return String(Math.max(1, Math.ceil((err.retryAt - now) / 1000)));
}
