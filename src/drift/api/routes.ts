/**
 * Drift routes (SPEC 9): GET /models/:model/drift, PUT /models/:model/versions/:version/reference,
 * PUT and GET /models/:model/policy.
 */
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { z } from 'zod';
import { DriftError } from '../errors.js';
import { parseBucket, parseTime, resolveRange } from '../../platform/time/index.js';
import type { DriftService, ReferenceInput } from '../service/drift-service.js';
import type { PolicyStore } from '../store/policies.js';
import {
  driftQuerystring,
  driftResponse,
  errorSchema,
  formatValidationErrors,
  modelParams,
  referenceBody,
  referenceResponse,
  versionParams,
} from './schemas.js';
import { sendError } from './send-error.js';
import { policyRoutes } from './policy-routes.js';

export interface DriftRoutesDeps {
  service: DriftService;
  policies: PolicyStore;
  /** Policy sections besides `drift` (a retrain policy adds `retrain` here), each validated by its schema. */
  policySections?: Record<string, z.ZodType>;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

const DAY = 86_400_000;

type DriftQuery = FromSchema<typeof driftQuerystring>;
type ReferenceBody = FromSchema<typeof referenceBody>;

function badRequest(message: string): DriftError {
  return new DriftError('BAD_INPUT', message);
}

/** [from, to) and the bucket of a drift request; whole buckets, like the metrics route. */
export function resolveDriftRange(query: DriftQuery, now: number) {
  const window = query.bucket === undefined ? undefined : parseBucket(query.bucket);
  if (query.bucket !== undefined && window === undefined)
    throw badRequest(
      `querystring/bucket: '${query.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d up to 366 days)`,
    );
  const to = query.to === undefined ? now : parseTime(query.to);
  if (to === undefined)
    throw badRequest(
      `querystring/to: '${query.to ?? ''}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  const from = query.from === undefined ? undefined : parseTime(query.from);
  if (query.from !== undefined && from === undefined)
    throw badRequest(
      `querystring/from: '${query.from}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  if (window === undefined) {
    const start = from ?? to - DAY;
    if (start >= to)
      throw badRequest(
        `querystring/from: must be before to (${new Date(start).toISOString()} >= ${new Date(to).toISOString()})`,
      );
    return { from: start, to, window };
  }
  const range = resolveRange({ from: query.from, to: query.to, bucket: window }, now);
  if (!range.ok) throw badRequest(range.message);
  return { from: range.from, to: range.to, window };
}

/** `columns=a,b`: names, comma-separated; undefined when not given. */
export function parseColumns(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const names = [...new Set(text.split(',').map((c) => c.trim()))];
  if (names.some((c) => c === ''))
    throw badRequest(`querystring/columns: give column names separated by commas, without empty names`);
  return names;
}

/** Exactly one of `rows` or `from` + `to`. */
export function referenceInput(body: ReferenceBody): ReferenceInput {
  if (body.rows !== undefined) {
    if (body.from !== undefined || body.to !== undefined)
      throw badRequest(`body: give either rows or from and to, not both`);
    return { rows: body.rows };
  }
  if (body.from === undefined || body.to === undefined)
    throw badRequest(
      `body${body.from === undefined ? '/from' : '/to'}: required (give rows, or from and to)`,
    );
  const from = parseTime(body.from);
  if (from === undefined)
    throw badRequest(`body/from: '${body.from}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`);
  const to = parseTime(body.to);
  if (to === undefined)
    throw badRequest(`body/to: '${body.to}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`);
  if (from >= to) throw badRequest(`body/from: must be before to`);
  return { from, to };
}

export function driftRoutes(deps: DriftRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
    app.get(
      '/models/:model/drift',
      {
        config: { role: 'viewer' },
        schemaErrorFormatter: formatValidationErrors,
        schema: {
          summary: 'Data drift per time bucket against the version reference',
          description:
            'Every feature, the prediction, the score and the label of the version, compared with its reference (SPEC 5). ' +
            'Buckets by prediction event time; only buckets holding predictions. 409 when the version has no reference. ' +
            'An answer of more than MODELWATCH_DRIFT_MAX_RESPONSE_CELLS cells (buckets × columns, default 100000) is a 400: ask for a larger bucket, a shorter range or fewer columns.',
          tags: ['drift'],
          params: modelParams,
          querystring: driftQuerystring,
          response: { 200: driftResponse, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const range = resolveDriftRange(request.query, now());
          const columns = parseColumns(request.query.columns);
          return await deps.service.report({
            modelId: request.params.model,
            version: request.query.version,
            method: request.query.method,
            columns,
            ...range,
          });
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );

    app.put(
      '/models/:model/versions/:version/reference',
      {
        config: { role: 'admin' },
        bodyLimit: 64 * 1024 * 1024,
        schemaErrorFormatter: formatValidationErrors,
        schema: {
          summary: 'Set the drift reference of a model version',
          description:
            "From uploaded rows, or from a time range of the version's own stored predictions (and their labels). Replaces the previous reference; " +
            'bin edges, categories and kinds are fixed now, so every later window is measured the same way. Non-finite numbers are rejected.',
          tags: ['drift'],
          params: versionParams,
          body: referenceBody,
          response: { 200: referenceResponse, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const input = referenceInput(request.body);
          const { model, version } = request.params;
          const reference = await deps.service.setReference(
            { modelId: model, version },
            input,
            request.principal?.name ?? 'unknown',
          );
          await request.auditChange({
            action: 'reference.set',
            resource_type: 'model_version',
            resource_id: `${model}/${version}`,
            model_id: model,
            details: {},
          });
          return reference;
        } catch (err) {
          return sendError(reply, err);
        }
      },
    );

    await app.register(
      policyRoutes({ service: deps.service, policies: deps.policies, sections: deps.policySections ?? {} }),
    );
  };
  return plugin;
}
