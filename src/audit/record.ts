/**
 * The one audit record shape (SPEC 8), for access-log events, API calls and state changes. What
 * is hashed is exactly the JCS text of the parsed record, so parsing normalizes (UTC ISO time
 * with milliseconds, absent optional fields omitted) before anything is chained.
 */
import { z } from 'zod';
import { MAX_TIME, MIN_TIME } from '../platform/time/index.js';
import { PROTO_KEY, PROTO_MESSAGE, checkBoundedJson, wellFormed } from './bounded-json.js';
import { AuditError } from './errors.js';

/** State changes that are audited; an unknown `change` action is refused so the list stays the contract. */
export const CHANGE_ACTIONS = [
  'key.create',
  'key.revoke',
  'model_version.register',
  'model_version.restage',
  'reference.set',
  'policy.change',
  'retrain_trigger.emit',
  'export.run',
  'retention.delete',
  'legal_hold.set',
  'legal_hold.release',
] as const;
export type ChangeAction = (typeof CHANGE_ACTIONS)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A record's time must not be later than now plus this (clock skew between producers). @default 86_400_000 */
export const MAX_FUTURE_MS = 86_400_000;

/**
 * Longest id-like field (principal, action, resource_type, model_id, entity_id, event_id): the
 * collectors' limit on access-log events (collectors/events.ts), so every event they accept is
 * chained (test/unit/audit/access-parity.test.ts). Raising a limit changes no stored record's
 * canonical text, so chains written before still verify.
 */
export const MAX_ID_LENGTH = 512;
/** Longest `purpose` of an access event: the collectors' limit too. */
const MAX_PURPOSE_LENGTH = 1024;

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function text(max: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((s) => wellFormed(s), 'holds a lone surrogate');
}

/**
 * ISO-8601 with a zone, or epoch milliseconds, within what the `at` column (DateTime64(3)) holds;
 * normalized to `YYYY-MM-DDTHH:mm:ss.sssZ`. Access events come as epoch ms, read by the
 * collectors' own parser (consumer.ts), which also takes times without a zone.
 */
const timeSchema = z
  .union([
    z.string().max(40).regex(ISO_TIME, 'must be an ISO-8601 time with a zone'),
    z.number().int('must be whole epoch milliseconds'),
  ])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : Date.parse(value);
    if (!Number.isFinite(ms) || ms < MIN_TIME || ms > MAX_TIME) {
      ctx.addIssue({ code: 'custom', message: 'is not a time in 1900-2299' });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  });

const common = {
  at: timeSchema,
  principal: text(MAX_ID_LENGTH),
  resource_type: text(MAX_ID_LENGTH),
  resource_id: z
    .string()
    .max(1024, 'must be at most 1024 characters')
    .refine((s) => wellFormed(s), 'holds a lone surrogate'),
  model_id: text(MAX_ID_LENGTH).optional(),
  entity_id: text(MAX_ID_LENGTH).optional(),
};

const scalarParam = z.union([z.string().max(4096), z.number(), z.boolean(), z.null()]);

const accessRecord = z.strictObject({
  ...common,
  kind: z.literal('access'),
  action: text(MAX_ID_LENGTH),
  outcome: z.enum(['allowed', 'denied']),
  details: z.looseObject({
    event_id: text(MAX_ID_LENGTH),
    purpose: text(MAX_PURPOSE_LENGTH).optional(),
    source_ip: text(64).optional(),
  }),
});

const apiRecord = z.strictObject({
  ...common,
  kind: z.literal('api'),
  /** `METHOD route-template`, e.g. `GET /api/v1/models/:model/metrics`: a bounded set to filter on. */
  action: text(600),
  outcome: z.enum(['allowed', 'denied', 'failed']),
  details: z.looseObject({
    method: z.enum(HTTP_METHODS),
    route: text(512),
    status: z.number().int().min(100).max(599),
    params: z.record(z.string().max(256), z.union([scalarParam, z.array(scalarParam).max(64)])).optional(),
  }),
});

const changeRecord = z.strictObject({
  ...common,
  kind: z.literal('change'),
  action: z.enum(CHANGE_ACTIONS),
  outcome: z.enum(['allowed', 'failed']),
  details: z.looseObject({}),
});

export const auditRecordSchema = z
  .discriminatedUnion('kind', [accessRecord, apiRecord, changeRecord])
  .superRefine((record, ctx) => {
    const problem = checkBoundedJson(record.details, ['details']);
    if (problem) ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  });

/** The input a caller gives (times may be epoch ms). */
export type AuditRecordInput = z.input<typeof auditRecordSchema>;
/** A parsed, normalized record: what is canonicalized and hashed. */
export type AuditRecord = z.output<typeof auditRecordSchema>;
export type AuditKind = AuditRecord['kind'];
export type AuditOutcome = AuditRecord['outcome'];

export interface ParseOptions {
  /** Epoch ms "now", for the far-future check. @default Date.now() */
  now?: number;
  /** How far past `now` a record's time may be. @default MAX_FUTURE_MS */
  maxFutureMs?: number;
}

function member(value: unknown, key: string): object | undefined {
  const child =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof child === 'object' && child !== null ? child : undefined;
}

// zod builds `details` and `details.params` anew, so a `__proto__` key in them is gone before
// checkBoundedJson sees the output (which refuses one deeper down, where objects are kept as given).
function copiedProtoField(input: unknown): string | undefined {
  const details = member(input, 'details');
  if (details && Object.hasOwn(details, PROTO_KEY)) return `details.${PROTO_KEY}`;
  const params = member(details, 'params');
  return params && Object.hasOwn(params, PROTO_KEY) ? `details.params.${PROTO_KEY}` : undefined;
}

/** Validates and normalizes one record; throws INVALID_RECORD naming the first bad field. */
export function parseAuditRecord(input: unknown, options: ParseOptions = {}): AuditRecord {
  const proto = copiedProtoField(input);
  if (proto) throw new AuditError('INVALID_RECORD', `audit record: ${proto} ${PROTO_MESSAGE}`, false, proto);
  const result = auditRecordSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'record';
    throw new AuditError(
      'INVALID_RECORD',
      `audit record: ${field} ${issue?.message ?? 'is invalid'}`,
      false,
      field,
    );
  }
  const now = options.now ?? Date.now();
  const maxFutureMs = options.maxFutureMs ?? MAX_FUTURE_MS;
  if (Date.parse(result.data.at) > now + maxFutureMs) {
    throw new AuditError(
      'INVALID_RECORD',
      `audit record: at is more than ${maxFutureMs} ms in the future`,
      false,
      'at',
    );
  }
  return result.data;
}
