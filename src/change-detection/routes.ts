/** GET /models/:model/change-detection: Page-Hinkley over the per-prediction loss. */
import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyPluginAsync } from 'fastify';
import { errorBody, errorSchema } from '../api/index.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';
import { parseTime } from '../platform/time/index.js';
import { parseSegment, SegmentError } from '../segments/index.js';
import { ChangeDetectionError } from './errors.js';
import type { ChangeDetectionService } from './service.js';
import { changeDetectionPolicySchema, firstIssue, type ChangeDetectionPolicy } from './settings.js';
import { changeQuerystring, changeResponse } from './schemas.js';

export interface ChangeRoutesDeps {
  service: ChangeDetectionService;
  /** Epoch ms; the default `to`. @default Date.now */
  now?: () => number;
}

const WEEK = 7 * 86_400_000;

function bad(message: string): ChangeDetectionError {
  return new ChangeDetectionError('BAD_INPUT', message);
}

/** A decimal number (`Number` also takes `0x10`, `0b11` and surrounding spaces). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number parameter as the query gives it (text); undefined when absent. */
function numberParam(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(n))
    throw bad(`querystring/${name}: '${text.slice(0, 64)}' is not a finite decimal number`);
  return n;
}

type Query = Partial<
  Record<'from' | 'to' | 'min_instances' | 'delta' | 'threshold' | 'alpha' | 'mode', string>
>;

/** The detector parameters a request overrides, validated like the policy section. */
export function requestParameters(query: Query): ChangeDetectionPolicy {
  const raw = {
    min_instances: numberParam('min_instances', query.min_instances),
    delta: numberParam('delta', query.delta),
    threshold: numberParam('threshold', query.threshold),
    alpha: numberParam('alpha', query.alpha),
    mode: query.mode,
  };
  const parsed = changeDetectionPolicySchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)),
  );
  if (!parsed.success) throw bad(firstIssue(parsed.error, 'querystring'));
  return parsed.data;
}

export function requestRange(query: Query, now: number): { from: number; to: number } {
  const to = query.to === undefined ? now : parseTime(query.to);
  if (to === undefined)
    throw bad(
      `querystring/to: '${query.to?.slice(0, 64) ?? ''}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  const from = query.from === undefined ? to - WEEK : parseTime(query.from);
  if (from === undefined)
    throw bad(
      `querystring/from: '${query.from?.slice(0, 64) ?? ''}' is not an ISO-8601 time or epoch milliseconds in 1900-2299`,
    );
  if (from >= to) throw bad('querystring/from: must be before to');
  return { from, to };
}

export function changeDetectionRoutes(deps: ChangeRoutesDeps): FastifyPluginAsync {
  const now = deps.now ?? Date.now;
  const plugin: FastifyPluginAsyncJsonSchemaToTs = (app) => {
    app.get(
      '/models/:model/change-detection',
      {
        config: { role: 'viewer' },
        schema: {
          summary: 'Changes in the per-prediction loss (Page-Hinkley), once labels arrive',
          description:
            "The version's labeled predictions in [from, to) in event-time order; each one's loss (0/1 error for classifiers, " +
            "absolute error for regression) is fed to a Page-Hinkley detector (River's implementation and defaults; the " +
            "model's `change_detection` policy section, then these parameters, override them). Default range: the 7 days before `to`.",
          tags: ['metrics'],
          params: {
            type: 'object',
            properties: { model: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH } },
            required: ['model'],
          },
          querystring: changeQuerystring,
          response: { 200: changeResponse, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request, reply) => {
        try {
          const { segment, value } = request.query;
          if ((segment === undefined) !== (value === undefined))
            throw bad(
              `querystring/${segment === undefined ? 'segment' : 'value'}: segment and value go together`,
            );
          const segmented =
            segment === undefined ? undefined : { spec: parseSegment(segment), value: value ?? '' };
          return await deps.service.report(
            {
              modelId: request.params.model,
              version: request.query.version,
              ...requestRange(request.query, now()),
              parameters: requestParameters(request.query),
            },
            segmented,
          );
        } catch (err) {
          if (err instanceof SegmentError)
            return reply.code(err.status).send(errorBody(err.status, err.message));
          if (err instanceof ChangeDetectionError)
            return reply.code(err.status).send(errorBody(err.status, err.message));
          throw err;
        }
      },
    );
    return Promise.resolve();
  };
  return plugin;
}
