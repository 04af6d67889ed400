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
