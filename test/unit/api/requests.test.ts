import type { FastifyPluginAsync } from 'fastify';
import { describe, expect, it } from 'vitest';
import { KEYS, UNIT_LIMITS, message, stubApp } from './stub-app.js';

const settingsBody = {
  type: 'object',
  properties: {
    min: { type: 'number' },
    share: { type: ['number', 'null'] },
    name: { type: 'string' },
    on: { type: 'boolean' },
    columns: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: false,
} as const;

let exports = 0;

const probes: FastifyPluginAsync = (api) => {
  api.put(
    '/settings/:n',
    {
      config: { role: 'viewer' },
      schema: {
        params: { type: 'object', properties: { n: { type: 'integer' } } },
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } },
        },
        body: settingsBody,
      },
    },
    (request) => ({ params: request.params, query: request.query, body: request.body }),
  );
  api.put('/required', { config: { role: 'viewer' }, schema: { body: settingsBody } }, () => ({ ok: true }));
  api.delete('/thing', { config: { role: 'viewer' } }, (request) => ({ body: request.body ?? 'none' }));
  api.get('/cheap', { config: { role: 'viewer' } }, () => ({ ok: true }));
  api.get('/export', { config: { role: 'viewer', expensive: true } }, async (request) => {
    exports++;
    await request.auditChange({ action: 'export.run', resource_type: 'probe', resource_id: 'x' });
    return { ok: true };
  });
  return Promise.resolve();
};

const json = { 'content-type': 'application/json' };

describe('request bodies (review 27 F1)', () => {
  it('are not type-coerced: a wrong type is a 400 naming the field', async () => {
    const { app, call } = await stubApp([probes]);
    const put = (body: unknown) =>
      call({
        method: 'PUT',
        url: '/api/v1/settings/1',
        key: KEYS.viewer,
        headers: json,
        payload: JSON.stringify(body),
      });
    const cases: [unknown, string][] = [
      [{ min: null }, 'body/min must be number'],
      [{ min: '0.3' }, 'body/min must be number'],
      [{ min: true }, 'body/min must be number'],
      [{ share: '0.3' }, 'body/share must be number,null'],
      [{ name: 1 }, 'body/name must be string'],
      [{ name: null }, 'body/name must be string'],
      [{ name: ['x'] }, 'body/name must be string'],
      [{ on: 'false' }, 'body/on must be boolean'],
      [{ on: 1 }, 'body/on must be boolean'],
      [{ columns: 'Latitude' }, 'body/columns must be array'],
    ];
    for (const [body, expected] of cases) {
      const answer = await put(body);
      expect(answer.statusCode, JSON.stringify(body)).toBe(400);
      expect(message(answer), JSON.stringify(body)).toBe(expected);
    }
    const valid = { min: 0.8, share: null, name: 'x', on: false, columns: ['Latitude'] };
    expect((await put(valid)).json()).toMatchObject({ body: valid });
    await app.close();
  });

  it('on the key route too: a role given as an array, a null name', async () => {
    const { app, call } = await stubApp([]);
    const post = (body: unknown) =>
      call({
        method: 'POST',
        url: '/api/v1/keys',
        key: KEYS.admin,
        headers: json,
        payload: JSON.stringify(body),
      });
    const array = await post({ role: ['viewer'], name: 'r27-arr' });
    expect(array.statusCode).toBe(400);
    expect(message(array)).toMatch(/^body\/role must be string/);
    const nullName = await post({ role: 'viewer', name: null });
    expect(nullName.statusCode).toBe(400);
    expect(message(nullName)).toMatch(/^body\/name must be string/);
    await app.close();
  });

  it('while a query string and path parameters, which are text, are still coerced', async () => {
    const { app, call } = await stubApp([probes]);
    const answer = await call({
      method: 'PUT',
      url: '/api/v1/settings/7?limit=5&tags=a',
      key: KEYS.viewer,
      headers: json,
      payload: '{}',
    });
    expect(answer.statusCode, answer.body).toBe(200);
    expect(answer.json()).toMatchObject({ params: { n: 7 }, query: { limit: 5, tags: ['a'] } });
    const bad = await call({
      method: 'PUT',
      url: '/api/v1/settings/1?limit=x',
      key: KEYS.viewer,
      headers: json,
      payload: '{}',
    });
    expect(message(bad)).toBe('querystring/limit must be integer');
    await app.close();
  });
});

describe('an empty body with Content-Type: application/json (review 27 F9)', () => {
  it('is no body: a DELETE passes, a route that needs a body answers its 400', async () => {
    const { app, call } = await stubApp([probes]);
    const empty = { headers: json, payload: '', key: KEYS.viewer };
    const deleted = await call({ method: 'DELETE', url: '/api/v1/thing', ...empty });
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toEqual({ body: 'none' });
    // The key route, as generated clients call it: its own 404, not a 400 about the body.
    const revoke = await call({
      method: 'DELETE',
      url: '/api/v1/keys/0123456789abcdef',
      ...empty,
      key: KEYS.admin,
    });
    expect(revoke.statusCode).toBe(404);
    const missing = await call({ method: 'PUT', url: '/api/v1/required', ...empty });
    expect(missing.statusCode).toBe(400);
    expect(message(missing)).toBe('body must be object');
    // Anything else is parsed as before.
    const broken = await call({ method: 'PUT', url: '/api/v1/required', ...empty, payload: '{"min": ' });
    expect(message(broken)).toBe('body: not valid JSON');
    const poisoned = await call({
      method: 'PUT',
      url: '/api/v1/required',
      ...empty,
      payload: '{"__proto__": {"x": 1}}',
    });
    expect(poisoned.statusCode).toBe(400);
    expect(
      (await call({ method: 'PUT', url: '/api/v1/required', ...empty, payload: '{"min": 1}' })).statusCode,
    ).toBe(200);
    await app.close();
  });
});

describe('HEAD on a costly route (review 27 F10)', () => {
  it('does no work, writes no export record and leaves the costly-route budget alone; HEAD elsewhere is served', async () => {
    const { app, call, audited } = await stubApp([probes], { ...UNIT_LIMITS, expensivePerKey: 1 });
    exports = 0;
    for (let i = 0; i < 3; i++) {
      const head = await call({ method: 'HEAD', url: '/api/v1/export', key: KEYS.viewer });
      expect(head.statusCode).toBe(405);
      expect(head.headers['allow']).toBe('GET');
    }
    expect((await call({ method: 'HEAD', url: '/api/v1/export' })).statusCode).toBe(401);
    expect(exports).toBe(0);
    // The one costly call of the budget is still there.
    expect((await call({ method: 'GET', url: '/api/v1/export', key: KEYS.viewer })).statusCode).toBe(200);
    expect((await call({ method: 'GET', url: '/api/v1/export', key: KEYS.viewer })).statusCode).toBe(429);
    expect(exports).toBe(1);
    expect((await call({ method: 'HEAD', url: '/api/v1/cheap', key: KEYS.viewer })).statusCode).toBe(200);
    await app.close();
    expect(audited.filter((r) => r.action === 'export.run')).toHaveLength(1);
  });
});

interface OpenApiResponse {
  content?: Record<string, { schema?: unknown }>;
}

describe('the OpenAPI document (review 27 F8)', () => {
  it('declares 401, 403 and 429 as the JSON error shape on every route that needs a key', async () => {
    const { app } = await stubApp([probes]);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
    }>();
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ at: `${method} ${path}`, responses: op.responses })),
    );
    expect(operations.map((o) => o.at)).toContain('put /api/v1/settings/{n}');
    for (const { at, responses } of operations)
      for (const status of ['401', '403', '429']) {
        expect(Object.keys(responses[status]?.content ?? {}), `${at} ${status}`).toEqual([
          'application/json',
        ]);
        expect(responses[status]?.content?.['application/json']?.schema, `${at} ${status}`).toMatchObject({
          required: ['statusCode', 'error', 'message'],
        });
      }
    await app.close();
  });
});
