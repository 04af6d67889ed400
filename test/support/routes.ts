/**
 * The route table of SPEC 9 for the tests that walk every route of the OpenAPI document: the
 * least role each route needs, and a valid request for it on the service `seedRoutes` prepared.
 */
import { audit } from '../../src/audit/index.js';
import { auth } from '../../src/auth/index.js';
import { prediction } from './events.js';
import { produce, waitFor } from './harness.js';
import { californiaBody } from './registry.js';
import type { TestService } from './service.js';

export type Role = 'viewer' | 'auditor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'auditor', 'admin'];
const RANK: Record<Role, number> = { viewer: 0, auditor: 1, admin: 2 };
export const allows = (held: Role, needed: Role): boolean => RANK[held] >= RANK[needed];

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Sample {
  url: string;
  body?: unknown;
}

export interface RouteContext {
  service: TestService;
  /** A key id that exists and is not revoked (for DELETE /keys/:id). */
  freshKeyId(): Promise<string>;
  /** A new version name each call (for registrations). */
  nextVersion(): string;
}

export interface RouteSpec {
  /** SPEC 9's role; routes it does not list follow its rule (admin for changes, viewer for reads of what viewers see). */
  role: Role;
  sample(ctx: RouteContext): Promise<Sample> | Sample;
}

export const T0 = Date.UTC(2026, 10, 25);
export const T1 = T0 + 86_400_000;
const range = `from=${T0}&to=${T1}`;

/** Keyed `METHOD path` as the OpenAPI document writes it. */
export const SPEC9_ROUTES: Record<string, RouteSpec> = {
  'GET /api/v1/models': { role: 'viewer', sample: () => ({ url: '/api/v1/models' }) },
  'POST /api/v1/models/{model}/versions': {
    role: 'admin',
    sample: (ctx) => ({
      url: '/api/v1/models/california/versions',
      body: californiaBody({ version: ctx.nextVersion(), stage: 'archived' }),
    }),
  },
  // Not in SPEC 9's table; a change to the registry: admin (SPEC 9: admin is "models, policies").
  'PATCH /api/v1/models/{model}/versions/{version}': {
    role: 'admin',
    sample: () => ({ url: '/api/v1/models/credit-risk/versions/3', body: { stage: 'production' } }),
  },
  'PUT /api/v1/models/{model}/versions/{version}/reference': {
    role: 'admin',
    sample: () => ({ url: '/api/v1/models/credit-risk/versions/3/reference', body: { from: T0, to: T1 } }),
  },
  'PUT /api/v1/models/{model}/policy': {
    role: 'admin',
    sample: () => ({ url: '/api/v1/models/credit-risk/policy', body: { drift: { method: 'psi' } } }),
  },
  // Not in SPEC 9's table: the drift settings viewers need to read the drift route (README).
  'GET /api/v1/models/{model}/policy': {
    role: 'viewer',
    sample: () => ({ url: '/api/v1/models/credit-risk/policy' }),
  },
  'GET /api/v1/models/{model}/metrics': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/metrics?${range}&bucket=1h` }),
  },
  'GET /api/v1/models/{model}/estimated-performance': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/estimated-performance?${range}&bucket=1h` }),
  },
  'GET /api/v1/models/{model}/drift': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/drift?${range}&bucket=1h` }),
  },
  // Not in SPEC 9's table (issue 15): data quality, read like drift.
  'GET /api/v1/models/{model}/quality': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/quality?${range}&bucket=1h` }),
  },
  // Not in SPEC 9's table (issue 15): Page-Hinkley on the per-prediction loss, read like metrics.
  'GET /api/v1/models/{model}/change-detection': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/change-detection?${range}` }),
  },
  'GET /api/v1/models/{model}/drift/report': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/drift/report?${range}&bucket=1h` }),
  },
  'GET /api/v1/models/{model}/shadow': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/models/credit-risk/shadow?${range}&bucket=1h` }),
  },
  'GET /api/v1/retrain-triggers': {
    role: 'viewer',
    sample: () => ({ url: `/api/v1/retrain-triggers?model=credit-risk&${range}` }),
  },
  'GET /api/v1/audit/events': { role: 'auditor', sample: () => ({ url: `/api/v1/audit/events?${range}` }) },
  'GET /api/v1/audit/verify': { role: 'auditor', sample: () => ({ url: '/api/v1/audit/verify' }) },
  'GET /api/v1/predictions/{id}/provenance': {
    role: 'auditor',
    sample: () => ({ url: '/api/v1/predictions/p-1/provenance' }),
  },
  // Not in SPEC 9's table (SPEC 8 asks for the hold): a change is admin, reading holds is the auditor's.
  'PUT /api/v1/models/{model}/legal-hold': {
    role: 'admin',
    sample: () => ({ url: '/api/v1/models/credit-risk/legal-hold', body: { reason: 'walk' } }),
  },
  'DELETE /api/v1/models/{model}/legal-hold': {
    role: 'admin',
    sample: async (ctx) => {
      await ctx.service.use(audit).holds.write('credit-risk', true, 'walk', 'test');
      return { url: '/api/v1/models/credit-risk/legal-hold' };
    },
  },
  'GET /api/v1/legal-holds': { role: 'auditor', sample: () => ({ url: '/api/v1/legal-holds' }) },
  'POST /api/v1/keys': {
    role: 'admin',
    sample: (ctx) => ({ url: '/api/v1/keys', body: { role: 'viewer', name: `walk-${ctx.nextVersion()}` } }),
  },
  'GET /api/v1/keys': { role: 'admin', sample: () => ({ url: '/api/v1/keys' }) },
  'DELETE /api/v1/keys/{id}': {
    role: 'admin',
    sample: async (ctx) => ({ url: `/api/v1/keys/${await ctx.freshKeyId()}` }),
  },
};

export interface OpenApiOperation {
  method: Method;
  path: string;
  parameters: { in: 'query' | 'path'; name: string; schema: Record<string, unknown> }[];
  body: Record<string, Record<string, unknown>> | undefined;
}

/** Every operation of the service's OpenAPI document (`/docs/json`). */
export function openApiOperations(document: unknown): OpenApiOperation[] {
  const paths = (document as { paths: Record<string, Record<string, Record<string, unknown>>> }).paths;
  return Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, op]) => {
      const content = (
        op['requestBody'] as { content?: Record<string, { schema?: Record<string, unknown> }> }
      )?.content;
      const bodySchema = content?.['application/json']?.schema;
      return {
        method: method.toUpperCase() as Method,
        path,
        parameters: (op['parameters'] ?? []) as OpenApiOperation['parameters'],
        body: bodySchema?.['properties'] as OpenApiOperation['body'],
      };
    }),
  );
}

/** Predictions of credit-risk version 3 in [T0, T1), a reference from them, keys of every role and a revoked one. */
export async function seedRoutes(
  service: TestService,
): Promise<{ keys: Record<Role | 'revoked', string>; ctx: RouteContext }> {
  await produce(
    service.config.topics.predictions,
    Array.from({ length: 60 }, (_, i) => prediction(i, { timestamp: T0 + 36_000_000 + i * 1000 })),
  );
  await waitFor('the predictions stored', async () => {
    const [row] = await service.rows<{ n: string }>('SELECT count() AS n FROM predictions FINAL');
    return Number(row?.n) === 60 ? true : undefined;
  });
  await waitFor('the model version registered', async () =>
    (await service.get('/api/v1/models')).status === 200 &&
    JSON.stringify((await service.get('/api/v1/models')).body).includes('credit-risk')
      ? true
      : undefined,
  );
  const store = service.use(auth).keys;
  const revoked = await store.createWithId('admin', 'walk-revoked');
  await store.revoke(revoked.id);
  const keys = {
    viewer: await store.create('viewer', 'walk-viewer'),
    auditor: await store.create('auditor', 'walk-auditor'),
    admin: await store.create('admin', 'walk-admin'),
    revoked: revoked.key,
  };
  let versions = 0;
  let doomed = 0;
  const ctx: RouteContext = {
    service,
    // Names of active keys are unique (they are the audit trail's principals).
    freshKeyId: async () => (await store.createWithId('viewer', `walk-doomed-${++doomed}`)).id,
    nextVersion: () => `w${++versions}`,
  };
  // The drift route needs the version's reference.
  const reference = await send(
    service,
    'PUT',
    '/api/v1/models/credit-risk/versions/3/reference',
    keys.admin,
    {
      from: T0,
      to: T1,
    },
  );
  if (reference.status !== 200)
    throw new Error(`seeding the reference: ${reference.status} ${reference.text}`);
  return { keys, ctx };
}

export interface Answer {
  status: number;
  text: string;
  message: string | undefined;
}

export async function send(
  service: TestService,
  method: Method,
  url: string,
  key: string | undefined,
  body?: unknown,
  raw = false,
): Promise<Answer> {
  const response = await service.app.inject({
    method,
    url,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: raw ? (body as string) : JSON.stringify(body) }),
  });
  let message: string | undefined;
  if (String(response.headers['content-type'] ?? '').startsWith('application/json')) {
    try {
      message = (JSON.parse(response.body) as { message?: string }).message;
    } catch {
      message = undefined;
    }
  }
  return { status: response.statusCode, text: response.body, message };
}
