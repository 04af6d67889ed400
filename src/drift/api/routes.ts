/**
 * Drift routes (SPEC 9): GET /models/:model/drift, GET /models/:model/drift/report (HTML), PUT /models/:model/versions/:version/reference,
 * PUT and GET /models/:model/policy.
 */
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import type { FromSchema } from 'json-schema-to-ts';
import type { z } from 'zod';
import { DriftError } from '../errors.js';
import { parseTime } from '../../platform/time/index.js';
import type { DriftService, ReferenceInput } from '../service/drift-service.js';
import type { PolicyStore } from '../store/policies.js';
import {
  driftQuerystring,
  driftResponse,
  errorSchema,
  modelParams,
  referenceBody,
  referenceResponse,
  versionParams,
} from './schemas.js';
import { parseColumns, resolveDriftRange } from './query.js';
import { sendError } from './send-error.js';
import { policyRoutes } from './policy-routes.js';
import { driftReportRoute, type ReportRouteDeps } from './report-route.js';
import type { SegmentedAnalysis } from '../segments/segmented.js';
import { requireSegmented, storedQuery, withDeclaredWindow } from '../segments/route-support.js';

export interface DriftRoutesDeps {
  service: DriftService;
  policies: PolicyStore;
  /** Policy sections besides `drift` (a retrain policy adds `retrain` here), each validated by its schema. */
  policySections?: Record<string, z.ZodType>;
  /** The report with distributions behind the HTML report route; without it the route is absent. */
  report?: ReportRouteDeps['report'];
  /** The HTML report's estimated-performance section. @default none */
  performance?: ReportRouteDeps['performance'];
  /** The HTML report's data-quality section. @default none */
  quality?: ReportRouteDeps['quality'];
  /** Answers `?segment=`; without it a segmented request is a 400. @default none */
  segmented?: SegmentedAnalysis | undefined;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

type ReferenceBody = FromSchema<typeof referenceBody>;

function badRequest(message: string): DriftError {
  return new DriftError('BAD_INPUT', message);
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

export { parseColumns, resolveDriftRange } from './query.js';

export function driftRoutes(deps: DriftRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = async (app) => {
    app.get(
      '/models/:model/drift',
      {
        config: { role: 'viewer', computed: true },
        schema: {
          summary: 'Data drift per time bucket against the version reference',
          description:
            'Every feature, the prediction, the score and the label of the version, compared with its reference (SPEC 5). ' +
            'Buckets by prediction event time; only buckets holding predictions. 409 when the version has no reference. ' +
            'An answer of more than MODELWATCH_DRIFT_MAX_RESPONSE_CELLS cells (buckets × columns, default 100000) is a 400: ask for a larger bucket, a shorter range or fewer columns. ' +
            'So is a window of more than 200,000,000 values (its predictions × columns; one window for the whole range without `bucket`): give a bucket, a smaller one, a shorter range or fewer columns.',
          tags: ['drift'],
          params: modelParams,
          querystring: driftQuerystring,
          response: { 200: driftResponse, 400: errorSchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const { segment } = request.query;
          const stored = await storedQuery(deps.segmented, request.params.model, request.query);
          const query =
            stored ?? (await withDeclaredWindow(deps.segmented, request.params.model, request.query));
          const range = resolveDriftRange(query, now());
          const columns = parseColumns(request.query.columns);
          const report = {
            modelId: request.params.model,
            version: request.query.version,
            method: request.query.method,
            columns,
            ...range,
          };
          if (stored)
            return await requireSegmented(deps.segmented).storedDrift({ ...report, segment: stored.segment });
          if (segment !== undefined)
            return await requireSegmented(deps.segmented).drift({ ...report, segment });
          return await deps.service.report(report);
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

    if (deps.report)
      await app.register(
        driftReportRoute({
          report: deps.report,
          performance: deps.performance,
          quality: deps.quality,
          now: deps.now,
        }),
      );
    await app.register(
      policyRoutes({ service: deps.service, policies: deps.policies, sections: deps.policySections ?? {} }),
    );
  };
  return plugin;
}
