/**
 * Issue 8, findings 5, 6 and 8: limits on what one reference or one answer may hold, one error
 * shape for every error (Fastify's own included), strict dates, and checked corrections.
 */
import type { FastifyPluginAsync } from 'fastify';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.js';
import { KeyStore } from '../../src/auth/index.js';
import { californiaBody } from '../support/registry.js';
import { startTestService, type TestService } from '../support/service.js';
import { models } from '../../src/models/index.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4);

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, unknown>;
  raw: string;
}

async function call(
  service: TestService,
  method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
  key?: string,
): Promise<Answer> {
  const response = await service.app.inject({
    method,
    url,
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    headers: {
      authorization: `Bearer ${key ?? service.config.api.adminKey ?? ''}`,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
  });
  return {
    status: response.statusCode,
    body: response.json<Record<string, unknown>>(),
    headers: response.headers,
    raw: response.body,
  };
}

/** The one error shape: exactly these three fields, the status repeated, and a request id header. */
function expectErrorShape(answer: Answer, status: number): string {
  expect(answer.status, answer.raw).toBe(status);
  expect(Object.keys(answer.body).sort()).toEqual(['error', 'message', 'statusCode']);
  expect(answer.body['statusCode']).toBe(status);
  expect(typeof answer.body['error']).toBe('string');
  expect(typeof answer.body['message']).toBe('string');
  expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(answer.raw).not.toMatch(/\bat .+\.(ts|js):\d+|SELECT|\/work\/|node_modules/);
  return String(answer.body['message']);
}

async function seed(service: TestService, model: string, n = 300): Promise<void> {
  await service
    .use(models)
    .registry.registerSeen([{ modelId: model, version: '1', task: 'binary_classification', firstSeen: T0 }]);
  const rows = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      model_id: model,
      model_version: '1',
      prediction_id: `p-${i}`,
      timestamp: T0 + i * 60_000,
      features_num: { x: i % 37, y: i % 41 },
      features_str: { c: i % 2 === 0 ? 'even' : 'odd' },
      prediction: i % 3 === 0 ? 'cat' : 'dog',
      prediction_num: null,
      score: (i % 50) / 50,
      probabilities: {},
      latency_ms: 10,
      is_error: false,
      entity_id: '',
      request_id: '',
    }),
  );
  await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
}

describe('drift limits', () => {
  it('refuses a 100,000-column reference with a 400, without the memory to build it', async () => {
    const service = await startTestService();
    await seed(service, 'wide');
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`f${i}`, i]));
    const body = JSON.stringify({ rows: [wide] });
    expect(body.length).toBeGreaterThan(1_400_000);
    const before = process.memoryUsage().rss;
    const flat = await call(service, 'PUT', '/api/v1/models/wide/versions/1/reference', body);
    expect(expectErrorShape(flat, 400)).toBe(
      'body.rows[0].f1000: a reference may hold at most 1000 feature columns; this one is column 1001',
    );
    const nested = await call(service, 'PUT', '/api/v1/models/wide/versions/1/reference', {
      rows: [{ features: wide }],
    });
    expect(expectErrorShape(nested, 400)).toMatch(
      /^body\.rows\[0\]\.features\.f1000: a reference may hold at most 1000 feature columns/,
    );
    const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
    // Before the limit this PUT took the service from 421 MB to 1.6 GB; parsing the body is what remains.
    expect(grown, `RSS grew by ${grown.toFixed(0)} MB`).toBeLessThan(150);
    const [stored] = await service.rows<{ n: number }>(
      `SELECT count() AS n FROM drift_reference_values WHERE model_id = 'wide'`,
    );
    expect(stored?.n).toBe(0);

    // Names as long as the policy allows, no longer; a feature given twice is ambiguous.
    const long = 'n'.repeat(257);
    expect(
      expectErrorShape(
        await call(service, 'PUT', '/api/v1/models/wide/versions/1/reference', { rows: [{ [long]: 1 }] }),
        400,
      ),
    ).toBe(
      `body.rows[0].${'n'.repeat(40)}…: the column name is 257 characters long; at most 256 are allowed`,
    );
    expect(
      (
        await call(service, 'PUT', '/api/v1/models/wide/versions/1/reference', {
          rows: [{ ['n'.repeat(256)]: 1 }],
        })
      ).status,
    ).toBe(200);
    expect(
      expectErrorShape(
        await call(service, 'PUT', '/api/v1/models/wide/versions/1/reference', {
          rows: [{ x: 1 }, { x: 2, features: { x: 3 } }],
        }),
        400,
      ),
    ).toBe("body.rows[1].features.x: ambiguous: the row also has a top-level 'x'; give each feature once");
  });

  it('refuses an oversized drift answer with a 400 that says how to narrow it; rows and range columns are limited too', async () => {
    const service = await startTestService({
      MODELWATCH_DRIFT_MAX_RESPONSE_CELLS: '10',
      MODELWATCH_DRIFT_MAX_REFERENCE_ROWS: '3',
      MODELWATCH_DRIFT_MAX_REFERENCE_COLUMNS: '3',
    });
    await seed(service, 'm');
    const ref = await call(service, 'PUT', '/api/v1/models/m/versions/1/reference', {
      from: T0,
      to: T0 + HOUR,
    });
    expect(ref.status, ref.raw).toBe(200);
    // x, y, c, prediction, score: 5 columns; 5 hourly buckets hold predictions = 25 cells > 10.
    const url = `/api/v1/models/m/drift?from=${T0}&to=${T0 + 5 * HOUR}`;
    expect(expectErrorShape(await call(service, 'GET', `${url}&bucket=1h`), 400)).toBe(
      'querystring: the answer would hold 5 buckets × 5 columns = 25 cells; at most 10 are allowed. Narrow the query: a larger bucket, a shorter from/to range, or fewer columns (columns=a,b)',
    );
    const narrowed = await call(service, 'GET', `${url}&bucket=1h&columns=x,score`);
    expect(narrowed.status, narrowed.raw).toBe(200);
    const buckets = narrowed.body['buckets'] as { columns: { column: string }[] }[];
    expect(buckets.map((b) => b.columns.map((c) => c.column).join())).toEqual(Array(5).fill('x,score'));
    expect((await call(service, 'GET', `${url}&bucket=1d`)).status).toBe(200);
    expect(expectErrorShape(await call(service, 'GET', `${url}&columns=x,nope`), 400)).toBe(
      "querystring/columns: 'nope' is not a column of the reference",
    );
    expect(expectErrorShape(await call(service, 'GET', `${url}&columns=x,,y`), 400)).toMatch(
      /^querystring\/columns: /,
    );
    // Hostile filters: a huge name is quoted by its start only; an oversized list is refused by the schema.
    const huge = await call(service, 'GET', `${url}&columns=x,${'z'.repeat(20_000)}`);
    expect(expectErrorShape(huge, 400)).toBe(
      `querystring/columns: '${'z'.repeat(40)}…' is not a column of the reference`,
    );
    expect(
      expectErrorShape(await call(service, 'GET', `${url}&columns=${'z,'.repeat(40_000)}x`), 400),
    ).toMatch(/^querystring\/columns must NOT have more than 65536 characters/);

    expect(
      expectErrorShape(
        await call(service, 'PUT', '/api/v1/models/m/versions/1/reference', {
          rows: [{ x: 1 }, { x: 2 }, { x: 3 }, { x: 4 }],
        }),
        400,
      ),
    ).toBe('body.rows: 4 rows; a reference may hold at most 3 (upload a sample)');
    // A range whose traffic has more feature columns than allowed (older data, before the collectors' limits).
    await service.platform.db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, prediction)
              VALUES ('m', '1', 'wide-1', fromUnixTimestamp64Milli(${T0 + 30_000}, 'UTC'), map('a', 1, 'b', 2, 'd', 3), 'cat')`,
    });
    expect(
      expectErrorShape(
        await call(service, 'PUT', '/api/v1/models/m/versions/1/reference', { from: T0, to: T0 + HOUR }),
        400,
      ),
    ).toBe('body.from/body.to: the range holds 6 feature columns; a reference may hold at most 3');
  });
});

const probes: FastifyPluginAsync = (api) => {
  api.get('/boom', { config: { role: 'viewer' } }, () => {
    throw new Error(
      'Code: 60. DB::Exception: Unknown table: SELECT secret FROM /work/data/store (in /var/lib/clickhouse)',
    );
  });
  return Promise.resolve();
};

describe('one error shape', () => {
  it("every error, the framework's included, is { statusCode, error, message } with a request id, and never echoes the path", async () => {
    const service = await startTestService();
    await seed(service, 'm');
    const api = '/api/v1/models/m';
    expect(expectErrorShape(await call(service, 'GET', '/api/v1/nothing/here'), 404)).toBe(
      'no route GET /api/v1/nothing/here',
    );
    const longName = 'x'.repeat(5_000);
    const tooLong = await call(service, 'GET', `/api/v1/models/${longName}/drift`);
    expect(expectErrorShape(tooLong, 414)).toBe('a path parameter is too long (at most 512 characters)');
    expect(tooLong.raw).not.toContain('xxxxxxxxxx');
    // As long a model id and prediction id as the collectors accept reach their routes (Fastify's
    // default was 100 characters: such a model's every route answered 414).
    const longest = 'm'.repeat(512);
    expect(expectErrorShape(await call(service, 'GET', `/api/v1/models/${longest}/metrics`), 404)).toMatch(
      /^unknown model 'm{20}/,
    );
    await seed(service, longest);
    expect((await call(service, 'GET', `/api/v1/models/${longest}/metrics?bucket=1h&version=1`)).status).toBe(
      200,
    );
    // A version as long: its routes look it up rather than refuse the parameter.
    const longVersion = 'v'.repeat(512);
    for (const route of ['drift', 'estimated-performance', 'change-detection'])
      expect(
        expectErrorShape(
          await call(service, 'GET', `/api/v1/models/${longest}/${route}?version=${longVersion}`),
          404,
        ),
        route,
      ).toMatch(/version 'v{10}/);
    const hold = await call(service, 'PUT', `/api/v1/models/${longest}/legal-hold`, { reason: 'long ids' });
    expect(hold.status, hold.raw).toBe(200);
    expect((await call(service, 'DELETE', `/api/v1/models/${longest}/legal-hold`)).status).toBe(200);
    expect(
      expectErrorShape(await call(service, 'GET', `/api/v1/predictions/${'p'.repeat(512)}/provenance`), 404),
    ).toMatch(/^params\/id: no prediction 'p{10}/);
    expect(expectErrorShape(await call(service, 'GET', `/api/v1/models/${longest}x/metrics`), 414)).toBe(
      'a path parameter is too long (at most 512 characters)',
    );
    const unknownLong = await call(service, 'GET', `/api/v1/${longName}`);
    expect(expectErrorShape(unknownLong, 404).length).toBeLessThan(200);
    expect(expectErrorShape(await call(service, 'GET', `${api}%E0%A4%A/drift`), 400)).toBe(
      'the URL is not valid (bad percent-encoding)',
    );
    expect(
      expectErrorShape(await call(service, 'PUT', `${api}/versions/1/reference`, '{"rows": [{"x": 1}'), 400),
    ).toMatch(/^body: not valid JSON/);
    expect(
      expectErrorShape(
        await call(service, 'PUT', `${api}/versions/1/reference`, '{"rows": 1}', {
          'content-type': 'application/xml',
        }),
        415,
      ),
    ).toBe('unsupported Content-Type: send application/json');
    // An empty JSON body is no body (review 27 F9): this route needs one.
    expect(expectErrorShape(await call(service, 'PUT', `${api}/versions/1/reference`, '', {}), 400)).toBe(
      'body must be object',
    );
    expect(expectErrorShape(await call(service, 'GET', `${api}/drift?bucket=2w`), 400)).toMatch(
      /^querystring\/bucket/,
    );
    expect(expectErrorShape(await call(service, 'GET', `${api}/drift`), 409)).toMatch(/^no drift reference/);
    expect(expectErrorShape(await call(service, 'GET', `${api}/metrics?bucket=1h&version=9`), 404)).toBe(
      "model 'm' has no version '9'",
    );
    expect(
      expectErrorShape(await call(service, 'GET', `${api}/metrics`, undefined, {}, 'mw_unknown'), 401),
    ).toBe('unknown or revoked API key');

    // A 5xx: logged at error level with the request id; the answer holds no SQL, path or stack.
    const lines: string[] = [];
    const app = await buildApp({
      logger: pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
      keys: new KeyStore(service.platform.db, service.config.api.adminKey),
      registry: new Registry(),
      readiness: { checks: () => Promise.resolve({ ok: true }) },
      metricsPublic: true,
      routes: [probes],
    });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/boom',
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    await app.close();
    const boom: Answer = {
      status: response.statusCode,
      body: response.json(),
      headers: response.headers,
      raw: response.body,
    };
    expect(expectErrorShape(boom, 500)).toBe(
      'internal error: the request id (x-request-id) identifies it in the service log',
    );
    expect(boom.raw).not.toMatch(/secret|Exception|clickhouse/i);
    const logged = lines
      .map((l) => JSON.parse(l) as { level: number; reqId?: string; err?: { message: string } })
      .filter((l) => l.level === 50);
    expect(logged).toHaveLength(1);
    expect(logged[0]?.reqId).toBe(boom.headers['x-request-id']);
    expect(logged[0]?.err?.message).toMatch(/Unknown table/);
  });
});

describe('strict input', () => {
  it('refuses impossible dates naming the field, a positive class the version never predicted, and a wrong JSON type in a body (not coerced)', async () => {
    const service = await startTestService();
    await seed(service, 'm');
    expect(
      expectErrorShape(
        await call(service, 'GET', '/api/v1/models/m/drift?from=2026-02-30&to=2026-03-02'),
        400,
      ),
    ).toBe("querystring/from: '2026-02-30' is not an ISO-8601 time or epoch milliseconds in 1900-2299");
    expect(
      expectErrorShape(await call(service, 'GET', '/api/v1/models/m/metrics?from=2026-02-30'), 400),
    ).toMatch(/^querystring\/from: '2026-02-30'/);
    expect(
      expectErrorShape(await call(service, 'GET', '/api/v1/models/m/metrics?to=2026-01-01T24:00'), 400),
    ).toMatch(/^querystring\/to: /);
    expect(
      expectErrorShape(
        await call(service, 'PUT', '/api/v1/models/m/versions/1/reference', {
          from: '2026-04-31',
          to: '2026-05-05',
        }),
        400,
      ),
    ).toMatch(/^body\/from: '2026-04-31'/);

    const patch = (payload: unknown) => call(service, 'PATCH', '/api/v1/models/m/versions/1', payload);
    expect(expectErrorShape(await patch({ positive_class: 'bird' }), 400)).toBe(
      "body/positive_class: model 'm' version '1' never predicted 'bird' (it predicted: 'cat', 'dog')",
    );
    expect(await patch({ positive_class: 'cat' })).toMatchObject({
      status: 200,
      body: { positive_class: 'cat' },
    });
    const [row] = await service.rows<{ positive_class: string }>(
      `SELECT positive_class FROM model_versions FINAL WHERE model_id = 'm'`,
    );
    expect(row?.positive_class).toBe('cat');

    // Bodies are not type-coerced (review 27 F1): a wrong type was stored as another value.
    const wrongTypes: [string, unknown, string][] = [
      [
        '/policy',
        { retrain: { performance: { metric: 'roc_auc', min: null } } },
        'body/retrain/performance/min',
      ],
      ['/policy', { drift: { dataset_drift_share: true } }, 'body/drift/dataset_drift_share'],
      ['/policy', { drift: { dataset_drift_share: '0.3' } }, 'body/drift/dataset_drift_share'],
      ['/policy', { retrain: { drift: { columns: 'Latitude' } } }, 'body/retrain/drift/columns'],
      [
        '/policy',
        { retrain: { drift: { consecutive_windows: '3' } } },
        'body/retrain/drift/consecutive_windows',
      ],
      ['/legal-hold', { reason: 17 }, 'body/reason'],
    ];
    for (const [route, body, field] of wrongTypes)
      expect(expectErrorShape(await call(service, 'PUT', `/api/v1/models/m${route}`, body), 400)).toMatch(
        new RegExp(`^${field} `),
      );
    expect((await call(service, 'GET', '/api/v1/models/m/policy')).body).not.toHaveProperty('retrain');
    const numericVersion = await call(
      service,
      'POST',
      '/api/v1/models/m/versions',
      californiaBody({ version: 1 }),
    );
    expect(expectErrorShape(numericVersion, 400)).toMatch(/^body\/version must be string/);

    // The policy holds thresholds, nothing secret: a viewer may read it, only an admin may change it.
    const viewer = await new KeyStore(service.platform.db, service.config.api.adminKey).create(
      'viewer',
      'policy reader',
    );
    expect((await call(service, 'GET', '/api/v1/models/m/policy', undefined, {}, viewer)).status).toBe(200);
    expect(
      expectErrorShape(await call(service, 'PUT', '/api/v1/models/m/policy', { drift: {} }, {}, viewer), 403),
    ).toMatch(/needs the admin role/);
  });
});
