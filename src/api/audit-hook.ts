/**
 * Every API call is audited (SPEC 8), exactly once, also when the client leaves before the answer
 * is sent (`aborted`): principal, route template, path and query parameters (secrets redacted by
 * the record builder; bounded, and tighter for a caller without a key: see ParamLimits), status.
 * Denied and failed calls are included; calls to public routes (/healthz, /readyz, /docs, a public
 * /metrics) are not, whatever their status, so a load balancer polling a failing /readyz does not
 * flood the chain. A path that matches no route is recorded (route `(no route)`, its query
 * parameters, never the path).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ModelwatchError } from '../platform/errors.js';
import { errorBody } from './errors.js';

// Declared here, not imported from src/audit (whose routes import this folder): the audit
// capability's AuditLog satisfies these shapes (checked where the service passes it in).
const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

type Scalar = string | number | boolean | null;

/** One API call as the audit trail records it (src/audit ApiCall). */
export interface ApiCall {
  at: number;
  principal: string;
  method: (typeof HTTP_METHODS)[number];
  route: string;
  params?: Record<string, Scalar | Scalar[]>;
  status: number;
  /** The client closed the connection before the answer was fully sent. */
  aborted?: boolean;
  model_id?: string;
  entity_id?: string;
}

/** A state change as the audit trail records it (src/audit StateChange). */
export interface StateChange {
  at: number;
  principal: string;
  action:
    | 'key.create'
    | 'key.revoke'
    | 'model_version.register'
    | 'model_version.restage'
    | 'reference.set'
    | 'policy.change'
    | 'retrain_trigger.emit'
    | 'export.run'
    | 'retention.delete'
    | 'legal_hold.set'
    | 'legal_hold.release';
  resource_type: string;
  resource_id: string;
  model_id?: string;
  entity_id?: string;
  outcome?: 'allowed' | 'failed';
  details?: Record<string, unknown>;
}

/** A state change as a route reports it; the time and the principal (the caller's key) are filled in. */
export type RouteChange = Omit<StateChange, 'at' | 'principal'>;

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Audits a state change this request made (SPEC 8), under the caller's key name; resolves once
     * Kafka acknowledged the record, so call it before answering.
     */
    auditChange(change: RouteChange): Promise<void>;
  }
}

export interface ApiCallAuditor {
  /** Records one call; must not throw (the answer is already sent). */
  call(call: ApiCall): Promise<void>;
  /** Records a state change; resolves once it is durable in Kafka. */
  change(change: StateChange): Promise<void>;
  /** Whether a change's record can be sent now (false: state-changing calls are a 503). @default true */
  acceptsChanges?(): boolean;
}

/** The methods of the routes that change state; each audits its change (SPEC 8). */
const CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const MAX_PARAMS = 32;
const MAX_ARRAY = 16;

/** How much of a call's parameters is recorded; see KEYED and ANONYMOUS. */
interface ParamLimits {
  /** Longest name or value, in UTF-16 units. */
  text: number;
  /** Most values in all (an array's items count one each). */
  values: number;
  /** Most bytes of the parameters as JSON (escapes included). */
  bytes: number;
}

// 32 names and 256 values stay well under the record's 512 members in `details`, so a junk query
// cannot get the record refused (and written again without its parameters).
const KEYED: ParamLimits = { text: 256, values: 256, bytes: Infinity };
// A caller without a key can write to the chain at will (401, the auth throttle's 429): enough to
// see what was tried, not a place to store kilobytes per call.
const ANONYMOUS: ParamLimits = { text: 32, values: 32, bytes: 1024 };

/**
 * At most `max` UTF-16 units of `text`, never ending in the first half of a surrogate pair: the
 * record refuses a lone surrogate (JCS cannot encode it), which would take the call out of the trail.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

function scalar(value: unknown, max: number): Scalar {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  }
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return text.length > max ? `${cutText(text, max)}…` : text;
}

function pathParams(request: FastifyRequest): Record<string, unknown> {
  // An unmatched path's only path parameter is Fastify's `*`: the raw URL, never recorded.
  return request.routeOptions.url === undefined ? {} : ((request.params ?? {}) as Record<string, unknown>);
}

function queryParams(request: FastifyRequest): Record<string, unknown> {
  return (request.query ?? {}) as Record<string, unknown>;
}

function limitsFor(request: FastifyRequest): ParamLimits {
  return request.principal === undefined ? ANONYMOUS : KEYED;
}

/**
 * Path then query parameters, bounded (see ParamLimits) so a hostile query can neither get the
 * record refused nor make it large. A query parameter never replaces a path parameter of the same
 * name (`/models/a?model=b` stays model `a`).
 */
export function callParams(request: FastifyRequest): NonNullable<ApiCall['params']> {
  const limits = limitsFor(request);
  const merged = [...Object.entries(pathParams(request)), ...Object.entries(queryParams(request))];
  const params: NonNullable<ApiCall['params']> = {};
  let values = 0;
  let bytes = 0;
  for (const [rawName, raw] of merged.slice(0, MAX_PARAMS)) {
    if (values >= limits.values) break;
    const name = cutText(rawName, limits.text);
    // `__proto__` would set the object's prototype, not a parameter.
    if (Object.hasOwn(params, name) || name === '__proto__') continue;
    const value = boundedValue(raw, limits.values - values, limits.text);
    const size = Buffer.byteLength(JSON.stringify([name, value]));
    if (bytes + size > limits.bytes) break;
    params[name] = value;
    values += Array.isArray(value) ? value.length : 1;
    bytes += size;
  }
  return params;
}

/** One parameter's value: an array keeps at most `room` (and MAX_ARRAY) items. */
function boundedValue(raw: unknown, room: number, maxText: number): Scalar | Scalar[] {
  if (!Array.isArray(raw)) return scalar(raw, maxText);
  return raw.slice(0, Math.min(MAX_ARRAY, room)).map((item) => scalar(item, maxText));
}

/** `model` or `entity_id` from the path, else the query: what the call acts on, whatever else it sent. */
function targetId(request: FastifyRequest, name: string): string | undefined {
  const value = pathParams(request)[name] ?? queryParams(request)[name];
  if (typeof value !== 'string' || value === '') return undefined;
  // As the parameter is recorded (with its `…`), within the record's limit (MAX_ID_LENGTH, 512).
  return cutText(String(scalar(value, limitsFor(request).text)), KEYED.text);
}

function principalOf(request: FastifyRequest): string {
  return cutText(request.principal?.name ?? 'anonymous', KEYED.text);
}

function isMethod(method: string): method is ApiCall['method'] {
  return (HTTP_METHODS as readonly string[]).includes(method);
}

/**
 * An `onRequest` hook, before the key check: a method the trail cannot record (PROPFIND, TRACE,
 * SEARCH…) is a 501 without its key being looked at. No route serves one; checked, its key would
 * have been a guess that left no audit record.
 */
export async function refuseUnrecordedMethod(
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  if (isMethod(request.method)) return undefined;
  return reply
    .code(501)
    .send(errorBody(501, `method ${request.method} is not served: use ${HTTP_METHODS.join(', ')}`));
}

/**
 * Whatever the status, a call to a public route is not audited: it needs no key, so anyone (a load
 * balancer polling a failing /readyz) could otherwise write to the chain at will.
 */
function audited(request: FastifyRequest): request is FastifyRequest & { method: ApiCall['method'] } {
  return request.routeOptions.config.public !== true && isMethod(request.method);
}

/** nginx's "client closed request": the client left before any answer was sent. */
const CLIENT_CLOSED = 499;

function apiCall(
  request: FastifyRequest & { method: ApiCall['method'] },
  status: number,
  aborted: boolean,
): ApiCall {
  const model = targetId(request, 'model');
  const entity = targetId(request, 'entity_id');
  return {
    at: Date.now(),
    principal: principalOf(request),
    method: request.method,
    // The template, never the raw URL: an unmatched path is one bounded value.
    route: request.routeOptions.url ?? '(no route)',
    params: callParams(request),
    status,
    ...(aborted ? { aborted } : {}),
    ...(model === undefined ? {} : { model_id: model }),
    ...(entity === undefined ? {} : { entity_id: entity }),
  };
}

/**
 * Records each audited call exactly once. Fastify's onResponse runs only once the answer is fully
 * sent ('finish'), so a client that resets mid-answer or leaves while the handler runs is seen by
 * the response's 'close' alone; both lead here, the first one records.
 */
function callRecorder(auditor: ApiCallAuditor) {
  const recorded = new WeakSet<FastifyRequest>();
  const watched = new WeakSet<FastifyRequest>();
  const record = (request: FastifyRequest, status: number, aborted: boolean) => {
    if (!audited(request) || recorded.has(request)) return;
    recorded.add(request);
    // Not awaited: the call is over, and a record held until Kafka is reachable must not keep
    // the request open (the server's close waits for open requests).
    void auditor.call(apiCall(request, status, aborted));
  };
  /** Records on 'close' unless the answer finished first; `statusIfGone` when the client already left. */
  const watch = (request: FastifyRequest, reply: FastifyReply, statusIfGone: number) => {
    if (!audited(request) || watched.has(request)) return;
    watched.add(request);
    if (reply.raw.destroyed) return record(request, statusIfGone, true);
    let finished = false;
    reply.raw.once('finish', () => (finished = true));
    reply.raw.once('close', () =>
      record(request, reply.raw.headersSent ? reply.statusCode : CLIENT_CLOSED, !finished),
    );
  };
  return { record, watch };
}

function auditHook(
  app: FastifyInstance,
  options: { auditor: ApiCallAuditor | undefined },
  done: () => void,
): void {
  const { auditor } = options;
  // Without an auditor (the bare app in unit tests) a change is not recorded anywhere.
  app.decorateRequest('auditChange', function (this: FastifyRequest, change: RouteChange) {
    if (!auditor) return Promise.resolve();
    // A GET that records a change (the audit export's export.run) must not hang on a held record.
    if (auditor.acceptsChanges?.() === false)
      return Promise.reject(new ModelwatchError('KAFKA_UNAVAILABLE', 'the audit log cannot send yet', true));
    return auditor.change({ ...change, at: Date.now(), principal: principalOf(this) });
  });
  if (!auditor) {
    done();
    return;
  }
  // A change is stored before its record is sent: while the audit topic cannot be reached (Kafka
  // down since start), the record would wait in memory and be lost at shutdown, the change kept.
  app.addHook('preHandler', async (request, reply) => {
    if (!CHANGING.has(request.method) || auditor.acceptsChanges?.() !== false) return;
    return reply
      .code(503)
      .header('retry-after', '5')
      .send(
        errorBody(503, 'the audit trail cannot be reached (Kafka): changes wait until it can record them'),
      );
  });
  const { record, watch } = callRecorder(auditor);
  app.addHook('onRequest', (request, reply, next) => {
    watch(request, reply, CLIENT_CLOSED);
    next();
  });
  // An earlier onRequest hook (authentication, throttles) may answer, and this one then never runs.
  app.addHook('onSend', (request, reply, payload, next) => {
    watch(request, reply, reply.statusCode);
    next(null, payload);
  });
  app.addHook('onResponse', (request, reply, next) => {
    next();
    record(request, reply.statusCode, false);
  });
  done();
}

export const auditPlugin = fp(auditHook, { name: 'modelwatch-audit' });
