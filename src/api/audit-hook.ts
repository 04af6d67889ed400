/**
 * Every API call is audited (SPEC 8): principal, route template, path and query parameters
 * (secret-looking names redacted by the record builder, values cut to 256 characters, at most 32
 * of them), status. Denied and failed calls are included; calls to public routes (/healthz,
 * /readyz, /docs, a public /metrics) are not, whatever their status, so a load balancer polling a
 * failing /readyz does not flood the chain. A path that matches no route is recorded (route
 * `(no route)`, its query parameters, never the path).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

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
}

const MAX_PARAMS = 32;
const MAX_VALUE = 256;

/**
 * At most `max` UTF-16 units of `text`, never ending in the first half of a surrogate pair: the
 * record refuses a lone surrogate (JCS cannot encode it), which would take the call out of the trail.
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

function scalar(value: unknown): Scalar {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
  }
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return text.length > MAX_VALUE ? `${cutText(text, MAX_VALUE)}…` : text;
}

/** Path then query parameters, bounded so a hostile query cannot make the record invalid. */
export function callParams(request: FastifyRequest): NonNullable<ApiCall['params']> {
  // An unmatched path's only path parameter is Fastify's `*`: the raw URL, never recorded.
  const path = request.routeOptions.url === undefined ? {} : (request.params ?? {});
  const merged: [string, unknown][] = [
    ...Object.entries(path as Record<string, unknown>),
    ...Object.entries((request.query ?? {}) as Record<string, unknown>),
  ];
  const params: NonNullable<ApiCall['params']> = {};
  for (const [name, value] of merged.slice(0, MAX_PARAMS)) {
    params[cutText(name, MAX_VALUE)] = Array.isArray(value) ? value.slice(0, 16).map(scalar) : scalar(value);
  }
  return params;
}

function principalOf(request: FastifyRequest): string {
  return cutText(request.principal?.name ?? 'anonymous', MAX_VALUE);
}

function isMethod(method: string): method is ApiCall['method'] {
  return (HTTP_METHODS as readonly string[]).includes(method);
}

function auditHook(
  app: FastifyInstance,
  options: { auditor: ApiCallAuditor | undefined },
  done: () => void,
): void {
  const { auditor } = options;
  // Without an auditor (the bare app in unit tests) a change is not recorded anywhere.
  app.decorateRequest('auditChange', function (this: FastifyRequest, change: RouteChange) {
    return auditor
      ? auditor.change({ ...change, at: Date.now(), principal: principalOf(this) })
      : Promise.resolve();
  });
  if (!auditor) {
    done();
    return;
  }
  app.addHook('onResponse', (request, reply, next) => {
    next();
    const status = reply.statusCode;
    // Whatever the status: a public route needs no key, so anyone (a load balancer polling a
    // failing /readyz) could otherwise write to the chain at will.
    if (request.routeOptions.config.public === true) return;
    if (!isMethod(request.method)) return;
    const params = callParams(request);
    const model = params['model'];
    const entity = params['entity_id'];
    // Not awaited: the answer is sent, and a record held until Kafka is reachable must not keep
    // the request open (the server's close waits for open requests).
    void auditor.call({
      at: Date.now(),
      principal: principalOf(request),
      method: request.method,
      // The template, never the raw URL: an unmatched path is one bounded value.
      route: request.routeOptions.url ?? '(no route)',
      params,
      status,
      ...(typeof model === 'string' && model !== '' ? { model_id: cutText(model, MAX_VALUE) } : {}),
      ...(typeof entity === 'string' && entity !== '' ? { entity_id: cutText(entity, MAX_VALUE) } : {}),
    });
  });
  done();
}

export const auditPlugin = fp(auditHook, { name: 'modelwatch-audit' });
