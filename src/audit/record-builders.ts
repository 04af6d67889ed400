/** Builders for the three kinds of record, so every producer fills the one shape the same way. */
import type { AuditRecordInput, ChangeAction } from './record.js';

/** An `ml.access-log` event (SPEC 3.2), as the collectors validated it. */
export interface AccessLogEvent {
  event_id: string;
  timestamp: string | number;
  principal: string;
  action: string;
  resource_type: string;
  resource_id: string;
  model_id?: string | undefined;
  entity_id?: string | undefined;
  purpose?: string | undefined;
  outcome: 'allowed' | 'denied';
  source_ip?: string | undefined;
}

export function accessRecord(event: AccessLogEvent): AuditRecordInput {
  return {
    kind: 'access',
    at: event.timestamp,
    principal: event.principal,
    action: event.action,
    resource_type: event.resource_type,
    resource_id: event.resource_id,
    ...optional('model_id', event.model_id),
    ...optional('entity_id', event.entity_id),
    outcome: event.outcome,
    details: {
      event_id: event.event_id,
      ...optional('purpose', event.purpose),
      ...optional('source_ip', event.source_ip),
    },
  };
}

export interface ApiCall {
  at: string | number;
  /** The key's name; `anonymous` when no key or an unknown key was given (never the key itself). */
  principal: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';
  /** The route template, e.g. `/api/v1/models/:model/metrics`. */
  route: string;
  /** Path and query parameters; bodies are not recorded. */
  params?: Record<string, string | number | boolean | null | (string | number | boolean | null)[]>;
  /** The parameters were refused (INVALID_RECORD) and left out, so the call is still recorded. */
  params_dropped?: boolean;
  status: number;
  /** The client closed the connection before the answer was fully sent. */
  aborted?: boolean;
  /** What the route acts on, e.g. `model` and the model id. @default 'route' and the route */
  resource_type?: string;
  resource_id?: string;
  model_id?: string | undefined;
  entity_id?: string | undefined;
}

const SECRET_NAME = /auth|bearer|cookie|credential|key|passw|secret|session|sig|token/i;
/** A modelwatch API key (`mw_` and base64url), wherever it appears: callers put keys under any name. */
const API_KEY = /mw_[A-Za-z0-9_-]{20,}/;
const REDACTED = '[redacted]';

type Params = NonNullable<ApiCall['params']>;

function redactScalar<T extends string | number | boolean | null>(value: T): T | string {
  return typeof value === 'string' && API_KEY.test(value) ? REDACTED : value;
}

function redactValue(value: Params[string]): Params[string] {
  return Array.isArray(value) ? value.map(redactScalar) : redactScalar(value);
}

/** Secrets by parameter name, and anything that looks like a key by value (a key as a name too). */
function redactParams(params: Params): Params {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) =>
      API_KEY.test(name)
        ? [REDACTED, REDACTED]
        : [name, SECRET_NAME.test(name) ? REDACTED : redactValue(value)],
    ),
  );
}

/** 401, 403 and 429 are denials; any other status ≥ 400 a failure. */
export function apiOutcome(status: number): 'allowed' | 'denied' | 'failed' {
  if (status === 401 || status === 403 || status === 429) return 'denied';
  return status >= 400 ? 'failed' : 'allowed';
}

export function apiCallRecord(call: ApiCall): AuditRecordInput {
  const params = call.params ? redactParams(call.params) : undefined;
  return {
    kind: 'api',
    at: call.at,
    principal: call.principal,
    action: `${call.method} ${call.route}`,
    resource_type: call.resource_type ?? 'route',
    resource_id: call.resource_id ?? call.route,
    // Taken from the parameters, so redacted like them.
    ...optional('model_id', call.model_id && redactScalar(call.model_id)),
    ...optional('entity_id', call.entity_id && redactScalar(call.entity_id)),
    outcome: apiOutcome(call.status),
    details: {
      method: call.method,
      route: call.route,
      status: call.status,
      ...(params ? { params } : {}),
      ...(call.params_dropped === true ? { params_dropped: true } : {}),
      ...(call.aborted === true ? { aborted: true } : {}),
    },
  };
}

export interface StateChange {
  at: string | number;
  principal: string;
  action: ChangeAction;
  resource_type: string;
  resource_id: string;
  model_id?: string | undefined;
  entity_id?: string | undefined;
  /** @default 'allowed' */
  outcome?: 'allowed' | 'failed';
  /** What changed (never a secret): e.g. `{ role }` for a key, `{ from, to }` for a stage. */
  details?: Record<string, unknown>;
}

export function changeRecord(change: StateChange): AuditRecordInput {
  return {
    kind: 'change',
    at: change.at,
    principal: change.principal,
    action: change.action,
    resource_type: change.resource_type,
    resource_id: change.resource_id,
    ...optional('model_id', change.model_id),
    ...optional('entity_id', change.entity_id),
    outcome: change.outcome ?? 'allowed',
    details: change.details ?? {},
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, string>);
}
