import { describe, expect, it } from 'vitest';
import {
  ROLES,
  SPEC9_ROUTES,
  allows,
  openApiOperations,
  seedRoutes,
  send,
  type Answer,
  type OpenApiOperation,
  type RouteSpec,
  type Sample,
} from '../support/routes.js';
import { startTestService, type TestService } from '../support/service.js';

/** The walks make hundreds of failed and costly calls from one address: limits out of the way. */
const UNLIMITED = {
  MODELWATCH_RATE_LIMIT_AUTH_FAILURES: '1000000',
  MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY: '1000000',
  MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_ADDRESS: '1000000',
  MODELWATCH_METRICS_PUBLIC: 'false',
};

/**
 * What must never reach a client: stack frames, file paths, ClickHouse's error text, our SQL.
 * Checked on every answer of every walk, with what the request itself sent removed first (a 404
 * may quote the model id it was given).
 */
const LEAKS: [string, RegExp][] = [
  ['stack frame', /\bat [\w.<>]+ \(|\n\s+at /],
  ['file path', /\/(work|tmp|home|root|usr)\/|node_modules|[\w-]+\.(ts|js|mjs):\d+/],
  ['ClickHouse error', /Code: \d+|DB::Exception|e\.what\(\)|UNKNOWN_TABLE|SYNTAX_ERROR/],
  ['SQL text', /\bSELECT\b[\s\S]*\bFROM\b|\bFINAL\b|query_params|\{\w+:(String|UInt64|Int64)\}/],
];

function leaks(answer: Answer, sent: readonly string[]): string[] {
  let text = answer.text;
  for (const s of sent) if (s.length > 0) text = text.split(s).join('');
  return LEAKS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}

function operationKey(op: OpenApiOperation): string {
  return `${op.method} ${op.path}`;
}

async function walked(service: TestService): Promise<{ op: OpenApiOperation; spec: RouteSpec }[]> {
  const doc = await service.app.inject({ method: 'GET', url: '/docs/json' });
  expect(doc.statusCode).toBe(200);
  const ops = openApiOperations(doc.json());
  expect(ops.length).toBeGreaterThanOrEqual(16);
  const missing = ops.map(operationKey).filter((k) => !(k in SPEC9_ROUTES));
  expect(missing, 'routes in the OpenAPI document missing from the SPEC 9 table of this test').toEqual([]);
  return ops.map((op) => ({ op, spec: SPEC9_ROUTES[operationKey(op)] as RouteSpec }));
}

describe('every route of the OpenAPI document', () => {
  it('answers 401 with no key, a wrong key or a revoked key, 403 below its SPEC 9 role, 2xx at or above it', async () => {
    const service = await startTestService(UNLIMITED);
    const { keys, ctx } = await seedRoutes(service);
    const routes = await walked(service);
    const seen: string[] = [];
    for (const { op, spec } of routes) {
      const key = operationKey(op);
      for (const [who, credential] of [
        ['no key', undefined],
        ['a wrong key', 'mw_this-key-was-never-issued-0123456789'],
        ['a revoked key', keys.revoked],
      ] as const) {
        const sample = await spec.sample(ctx);
        const answer = await send(service, op.method, sample.url, credential, sample.body);
        expect(answer.status, `${key} with ${who}`).toBe(401);
        seen.push(answer.text);
      }
      for (const role of ROLES) {
        const sample = await spec.sample(ctx);
        const answer = await send(service, op.method, sample.url, keys[role], sample.body);
        if (allows(role, spec.role)) {
          expect(answer.status, `${key} as ${role}: ${answer.text.slice(0, 300)}`).toBeGreaterThanOrEqual(
            200,
          );
          expect(answer.status, `${key} as ${role}: ${answer.text.slice(0, 300)}`).toBeLessThan(300);
        } else {
          expect(answer.status, `${key} as ${role}`).toBe(403);
          expect(answer.message).toBe(`this route needs the ${spec.role} role; the key has ${role}`);
        }
        seen.push(answer.text);
      }
    }
    // Outside the document: probes are public, /metrics needs a viewer key by default.
    for (const probe of ['/healthz', '/readyz', '/docs/json'])
      expect((await send(service, 'GET', probe, undefined)).status, probe).toBe(200);
    expect((await send(service, 'GET', '/metrics', undefined)).status).toBe(401);
    expect((await send(service, 'GET', '/metrics', keys.revoked)).status).toBe(401);
    expect((await send(service, 'GET', '/metrics', keys.viewer)).status).toBe(200);
    expect(seen.flatMap((text) => leaks({ status: 0, text, message: undefined }, []))).toEqual([]);
  }, 240_000);
});

interface DocResponse {
  content?: Record<string, { schema?: { required?: string[]; properties?: Record<string, unknown> } }>;
}

/** What an error response of `at` declares that it should not: anything but the JSON error shape. */
function errorDeclarationProblems(at: string, response: DocResponse | undefined): string[] {
  const types = Object.keys(response?.content ?? {});
  if (types.join() !== 'application/json') return [`${at}: declared as ${types.join(', ') || 'nothing'}`];
  const schema = response?.content?.['application/json']?.schema;
  const fields = Object.keys(schema?.properties ?? {}).sort();
  return fields.join() === 'error,message,statusCode' && schema?.required?.length === 3
    ? []
    : [`${at}: not the error schema (${fields.join(', ')})`];
}

describe('the OpenAPI document (review 27 F8)', () => {
  it('declares 401, 403 and 429 on every keyed route, every error as the JSON error shape, and the content types of the HTML report and the export', async () => {
    const service = await startTestService();
    await walked(service);
    const doc = (await service.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, DocResponse> }>>;
    }>();
    const problems: string[] = [];
    // Every operation of the document needs a key (walked() holds each to its SPEC 9 role).
    for (const [path, operations] of Object.entries(doc.paths))
      for (const [method, { responses }] of Object.entries(operations)) {
        const at = `${method.toUpperCase()} ${path}`;
        for (const status of ['401', '403', '429'])
          if (responses[status] === undefined) problems.push(`${at}: no ${status}`);
        for (const [status, response] of Object.entries(responses))
          if (Number(status) >= 400) problems.push(...errorDeclarationProblems(`${at} ${status}`, response));
      }
    expect(problems).toEqual([]);
    const report = doc.paths['/api/v1/models/{model}/drift/report']?.['get']?.responses;
    expect(Object.keys(report?.['200']?.content ?? {})).toEqual(['text/html']);
    expect(Object.keys(report ?? {})).toEqual(expect.arrayContaining(['400', '404', '409']));
    const exported = doc.paths['/api/v1/audit/events']?.['get']?.responses['200'];
    expect(Object.keys(exported?.content ?? {}).sort()).toEqual([
      'application/json',
      'application/x-ndjson',
      'text/csv',
    ]);
  });
});

const TEN_MB = 'x'.repeat(10 * 1024 * 1024);
/**
 * A query value far past any length the routes accept: 10 MB values took 8 s of this test's 20,
 * parsing URLs in this process, and proved no more.
 */
const ONE_MB = 'x'.repeat(1024 * 1024);
const SQL = "x' OR '1'='1'; DROP TABLE predictions; --";
/** 5,000 levels of nesting, as text (JSON.stringify of it would overflow this process's stack). */
const DEEP = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;

interface Hostile {
  what: string;
  url: string;
  body?: unknown;
  raw?: boolean;
  /** The answer must be one of these; a 400 must name `field`. */
  statuses: readonly number[];
  field?: string;
  sent: string[];
}

function typeOf(schema: Record<string, unknown> | undefined): string | undefined {
  const type = schema?.['type'];
  if (Array.isArray(type)) return type.find((t) => t !== 'null') as string | undefined;
  return typeof type === 'string' ? type : undefined;
}

/** An un-coercible value of another JSON type than the schema's. */
function wrongTypeFor(type: string | undefined): unknown {
  if (type === 'string') return { not: 'a string' };
  if (type === 'number' || type === 'integer' || type === 'boolean') return 'not-a-number';
  if (type === 'object') return 'not-an-object';
  return undefined;
}

/**
 * Values of another JSON type that Ajv's coercion turned into the declared one (`null` → 0 or "",
 * "1" → 1, 1 → "1", "true" → true, "x" → ["x"]): a body is not coerced, so each is a 400.
 */
function coercibleWrongFor(schema: Record<string, unknown> | undefined): unknown[] {
  const type = typeOf(schema);
  const declared = schema?.['type'];
  const nullable = declared === 'null' || (Array.isArray(declared) && declared.includes('null'));
  const orNull = (value: unknown) => (nullable ? [value] : [value, null]);
  if (type === 'string') return orNull(1);
  if (type === 'number' || type === 'integer') return orNull('1');
  if (type === 'boolean') return orNull('true');
  if (type === 'array') return orNull('x');
  return [];
}

function withQuery(url: string, name: string, value: string): string {
  const u = new URL(url, 'http://x');
  u.searchParams.set(name, value);
  return `${u.pathname}?${u.searchParams.toString()}`;
}

/** `url` with the segment that holds path parameter `name` in `template` (`/a/{name}/b`) set to `value`. */
function withPathParam(template: string, url: string, name: string, value: string): string {
  const index = template.split('/').indexOf(`{${name}}`);
  if (index < 0) throw new Error(`${template} has no path parameter ${name}`);
  const u = new URL(url, 'http://x');
  const segments = u.pathname.split('/');
  segments[index] = value;
  return `${segments.join('/')}${u.search}`;
}

const ANY_4XX = [400, 404, 409, 413, 414] as const;

/** The hostile variants of one route, from its OpenAPI parameters and body schema. */
function hostileCases(op: OpenApiOperation, url: string, body: unknown): Hostile[] {
  const cases: Hostile[] = [];
  const query = op.parameters.filter((p) => p.in === 'query');
  for (const p of query) {
    const strict =
      p.schema['enum'] !== undefined || p.schema['pattern'] !== undefined || typeOf(p.schema) !== 'string';
    cases.push(
      {
        what: `${p.name}: 1 MB`,
        url: withQuery(url, p.name, ONE_MB),
        statuses: [400],
        field: p.name,
        sent: [ONE_MB],
      },
      {
        what: `${p.name}: SQL`,
        url: withQuery(url, p.name, SQL),
        statuses: strict ? [400] : [200, ...ANY_4XX],
        field: p.name,
        sent: [SQL],
      },
      {
        what: `${p.name}: 10^30`,
        url: withQuery(url, p.name, '9'.repeat(31)),
        statuses: [200, ...ANY_4XX],
        field: p.name,
        sent: ['9'.repeat(31)],
      },
      {
        what: `${p.name}: repeated`,
        url: `${withQuery(url, p.name, '1')}&${p.name}=2`,
        statuses: [200, ...ANY_4XX],
        field: p.name,
        sent: [],
      },
    );
    if (strict)
      cases.push({
        what: `${p.name}: wrong type`,
        url: withQuery(url, p.name, 'not{valid}'),
        statuses: [400],
        field: p.name,
        sent: ['not{valid}'],
      });
  }
  if (query.length > 0)
    cases.push({
      what: 'an unknown (misspelt) parameter',
      url: withQuery(url, 'verison', '1'),
      statuses: [400],
      field: 'verison',
      sent: [],
    });
  if (query.some((p) => p.name === 'from') && query.some((p) => p.name === 'to')) {
    const swapped = withQuery(withQuery(url, 'from', String(T1_MS)), 'to', String(T0_MS));
    cases.push({ what: 'from > to', url: swapped, statuses: [400], field: 'from', sent: [] });
    const far = withQuery(url, 'to', '99999999999999999');
    cases.push({ what: 'to far in the future', url: far, statuses: [400], field: 'to', sent: [] });
  }
  for (const p of op.parameters.filter((x) => x.in === 'path')) {
    const encoded = encodeURIComponent(SQL);
    // With the route's valid body, so that the path is what is judged (not a missing body).
    cases.push({
      what: `path ${p.name}: SQL`,
      url: withPathParam(op.path, url, p.name, encoded),
      body,
      statuses: [200, 201, ...ANY_4XX],
      sent: [SQL, encoded],
    });
  }
  if (op.body !== undefined && typeof body === 'object' && body !== null) {
    for (const [name, schema] of Object.entries(op.body)) {
      const wrong = wrongTypeFor(typeOf(schema));
      if (wrong !== undefined)
        cases.push({
          what: `body ${name}: wrong type`,
          url,
          body: { ...body, [name]: wrong },
          statuses: [400],
          field: name,
          sent: [],
        });
      for (const coercible of coercibleWrongFor(schema))
        cases.push({
          what: `body ${name}: ${JSON.stringify(coercible)} (coerced before review 27 F1)`,
          url,
          body: { ...body, [name]: coercible },
          statuses: [400],
          field: name,
          sent: [],
        });
      cases.push(
        {
          what: `body ${name}: 10 MB`,
          url,
          body: { ...body, [name]: TEN_MB },
          statuses: [400, 413],
          field: name,
          sent: [TEN_MB],
        },
        {
          what: `body ${name}: deep JSON`,
          url,
          body: JSON.stringify({ ...body, [name]: '__deep__' }).replace('"__deep__"', DEEP),
          raw: true,
          statuses: [400, 413],
          field: name,
          sent: [],
        },
        {
          // Refused before the route runs: a legal hold was stored, then its audit record refused (500).
          what: `body ${name}: a lone surrogate`,
          url,
          body: { ...body, [name]: 'x\ud800' },
          statuses: [400],
          field: name,
          sent: [],
        },
        {
          what: `body ${name}: 1e308`,
          url,
          body: { ...body, [name]: 1e308 },
          statuses: [200, 201, ...ANY_4XX],
          field: name,
          sent: [],
        },
        {
          what: `body ${name}: SQL`,
          url,
          body: { ...body, [name]: SQL },
          statuses: [200, 201, ...ANY_4XX],
          field: name,
          sent: [SQL],
        },
      );
    }
    cases.push(
      { what: 'body: an array', url, body: [body], statuses: [400], field: 'body', sent: [] },
      {
        what: 'body: not JSON',
        url,
        body: '{"unterminated',
        raw: true,
        statuses: [400],
        field: 'body',
        sent: [],
      },
    );
  }
  return cases;
}

const T0_MS = Date.UTC(2026, 10, 25);
const T1_MS = T0_MS + 86_400_000;

describe('hostile input on every route', () => {
  it('answers 4xx (a 400 naming the field), never 5xx, leaks nothing, and answers normally afterwards', async () => {
    const service = await startTestService(UNLIMITED);
    const { keys, ctx } = await seedRoutes(service);
    const failures: string[] = [];
    let count = 0;
    const routes = await walked(service);
    const tried = new Set<string>();
    // Every route, DELETE too: its path parameter is its input (a fresh key or hold each time).
    for (const { op, spec } of routes) {
      const sample = await spec.sample(ctx);
      for (const c of hostileCases(op, sample.url, sample.body)) {
        count++;
        tried.add(operationKey(op));
        const answer = await send(service, op.method, c.url, keys.admin, c.body, c.raw);
        const where = `${operationKey(op)} ${c.what}: ${answer.status} ${answer.text.slice(0, 200)}`;
        if (!c.statuses.includes(answer.status)) failures.push(where);
        else if (answer.status === 400 && c.field !== undefined && !(answer.message ?? '').includes(c.field))
          failures.push(`${where} (400 without naming ${c.field})`);
        const leaked = leaks(answer, c.sent);
        if (leaked.length > 0) failures.push(`${where} leaks ${leaked.join(', ')}`);
      }
    }
    console.log(`hostile input: ${count} cases over the OpenAPI routes`);
    expect(failures).toEqual([]);
    // The routes no case reached are exactly those without query, path or body input: a route
    // left out of the walk, or one whose input the cases miss, shows here.
    expect(
      routes
        .map(({ op }) => operationKey(op))
        .filter((k) => !tried.has(k))
        .sort(),
    ).toEqual([
      'GET /api/v1/audit/verify',
      'GET /api/v1/keys',
      'GET /api/v1/legal-holds',
      'GET /api/v1/models',
    ]);
    expect(count).toBeGreaterThan(100);
    // The service is fine afterwards.
    expect((await send(service, 'GET', '/api/v1/models', keys.viewer)).status).toBe(200);
    expect((await send(service, 'GET', '/readyz', undefined)).status).toBe(200);
    const metrics = await send(
      service,
      'GET',
      `/api/v1/models/credit-risk/metrics?from=${T0_MS}&to=${T1_MS}`,
      keys.viewer,
    );
    expect(metrics.status).toBe(200);
  }, 300_000);
});

describe('server faults on every route', () => {
  it('answer a fixed message with no stack, SQL or path while the tables are gone, and recover when they are back', async () => {
    const service = await startTestService(UNLIMITED);
    const { keys, ctx } = await seedRoutes(service);
    const routes = await walked(service);
    const tables = (
      await service.rows<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' AND name != 'schema_migrations'",
      )
    ).map((t) => t.name);
    expect(tables).toEqual(
      expect.arrayContaining(['predictions', 'labels', 'audit_events', 'model_versions']),
    );
    // Every sample before the tables go: the DELETE ones make their key and hold in them.
    const samples = new Map<string, Sample>();
    for (const { op, spec } of routes) samples.set(operationKey(op), await spec.sample(ctx));
    const rename = async (from: (t: string) => string, to: (t: string) => string) => {
      for (const t of tables)
        await service.platform.db.client.command({ query: `RENAME TABLE ${from(t)} TO ${to(t)}` });
    };
    await rename(
      (t) => t,
      (t) => `${t}_hidden`,
    );
    const statuses: string[] = [];
    const failures: string[] = [];
    for (const { op } of routes) {
      const sample = samples.get(operationKey(op)) as Sample;
      // The bootstrap admin key is checked without the database; other keys are not.
      const answer = await send(service, op.method, sample.url, service.config.api.adminKey, sample.body);
      statuses.push(`${operationKey(op)} ${answer.status}`);
      const leaked = leaks(answer, []);
      if (leaked.length > 0) failures.push(`${operationKey(op)} leaks ${leaked.join(', ')}: ${answer.text}`);
      if (answer.status >= 500 && !/^(internal error|ClickHouse is busy)/.test(answer.message ?? ''))
        failures.push(`${operationKey(op)} ${answer.status}: ${answer.text}`);
    }
    // A non-admin key is looked up in the (missing) key table: a server fault, not a 401.
    const viewer = await send(service, 'GET', '/api/v1/models', keys.viewer);
    expect(viewer.status).toBeGreaterThanOrEqual(500);
    expect(leaks(viewer, [])).toEqual([]);
    expect(failures).toEqual([]);
    expect(statuses, 'one answer per route: none left out').toHaveLength(routes.length);
    expect(statuses.filter((s) => / 5\d\d$/.test(s)).length).toBeGreaterThan(5);
    await rename(
      (t) => `${t}_hidden`,
      (t) => t,
    );
    for (const { op, spec } of routes.filter((r) => r.op.method === 'GET')) {
      const sample = await spec.sample(ctx);
      const answer = await send(service, op.method, sample.url, keys.admin);
      expect(answer.status, `${operationKey(op)} after recovery: ${answer.text.slice(0, 200)}`).toBe(200);
    }
  }, 240_000);
});
