import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.js';
import { auth, KeyStore } from '../../src/auth/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: { statusCode?: number; error?: string; message?: string };
}

async function call(service: TestService, url: string, key?: string, address = '127.0.0.1'): Promise<Answer> {
  const response = await service.app.inject({
    method: 'GET',
    url,
    remoteAddress: address,
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  const json = String(response.headers['content-type'] ?? '').startsWith('application/json');
  return {
    status: response.statusCode,
    retryAfter: response.headers['retry-after']?.toString(),
    body: json ? response.json<Answer['body']>() : {},
  };
}

describe('misuse limits', () => {
  it('defaults: /metrics private, limits set (every value configurable, bad ones refused naming the variable)', () => {
    const config = loadConfig({});
    expect(config.api.metricsPublic).toBe(false);
    expect(config.api.rateLimits).toEqual({
      windowMs: 60_000,
      authFailuresPerAddress: 20,
      expensivePerKey: 60,
      expensivePerAddress: 120,
    });
    expect(loadConfig({ MODELWATCH_METRICS_PUBLIC: 'true' }).api.metricsPublic).toBe(true);
    expect(() => loadConfig({ MODELWATCH_RATE_LIMIT_AUTH_FAILURES: '0' })).toThrow(
      /MODELWATCH_RATE_LIMIT_AUTH_FAILURES/,
    );
    expect(() => loadConfig({ MODELWATCH_RATE_LIMIT_WINDOW: '10ms' })).toThrow(
      /MODELWATCH_RATE_LIMIT_WINDOW/,
    );
    expect(() => loadConfig({ MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY: 'lots' })).toThrow(
      /MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY/,
    );
  });

  it('throttles failed auth per address and expensive routes per key and per address with 429 in the one error shape; denials audited', async () => {
    const service = await startTestService({
      MODELWATCH_METRICS_PUBLIC: 'false',
      MODELWATCH_RATE_LIMIT_AUTH_FAILURES: '5',
      MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_KEY: '3',
      MODELWATCH_RATE_LIMIT_EXPENSIVE_PER_ADDRESS: '5',
      MODELWATCH_AUDIT_BATCH_MAX_MS: '100',
    });
    const keys = service.use(auth).keys;
    const viewer = await keys.create('viewer', 'misuse-viewer');
    const auditorA = await keys.create('auditor', 'misuse-a');
    const auditorB = await keys.create('auditor', 'misuse-b');

    // /metrics is private by default: a viewer key opens it.
    expect((await call(service, '/metrics', undefined, '10.0.0.9')).status).toBe(401);
    const scrape = await service.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(scrape.statusCode).toBe(200);
    expect(scrape.body).toContain('modelwatch_');

    // Failed auth from one address: 5 answered 401, then 429 even for a valid key from there.
    for (let i = 0; i < 5; i++) {
      const wrong = await call(service, '/api/v1/models', `wrong-key-${i}-0123456789`, '10.0.0.1');
      expect(wrong.status).toBe(401);
    }
    expect((await call(service, '/api/v1/models', undefined, '10.0.0.1')).status).toBe(429);
    const blocked = await call(service, '/api/v1/models', viewer, '10.0.0.1');
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(
        /^too many failed authentications from this address; retry in \d+ s$/,
      ) as string,
    });
    expect(Number(blocked.retryAfter)).toBeGreaterThan(0);
    expect(Number(blocked.retryAfter)).toBeLessThanOrEqual(60);
    // Other addresses and the public probes are not affected.
    expect((await call(service, '/api/v1/models', viewer, '10.0.0.2')).status).toBe(200);
    expect((await call(service, '/healthz', undefined, '10.0.0.1')).status).toBe(200);

    // Expensive routes: 3 per key, 5 per address (both keys together).
    const address = '10.0.0.3';
    for (let i = 0; i < 3; i++)
      expect((await call(service, '/api/v1/audit/verify', auditorA, address)).status).toBe(200);
    const byKey = await call(service, '/api/v1/audit/verify', auditorA, address);
    expect(byKey.status).toBe(429);
    expect(byKey.body.message).toMatch(/^too many calls to costly routes with this key; retry in \d+ s$/);
    // Not an expensive route: the same key still answers.
    expect((await call(service, '/api/v1/models', auditorA, address)).status).toBe(200);
    expect((await call(service, '/api/v1/audit/verify', auditorB, address)).status).toBe(200);
    expect((await call(service, '/api/v1/audit/events', auditorB, address)).status).toBe(200);
    const byAddress = await call(service, '/api/v1/audit/verify', auditorB, address);
    expect(byAddress.status).toBe(429);
    expect(byAddress.body.message).toMatch(/^too many calls to costly routes from this address/);
    // A fresh key is refused from the exhausted address, answered from another.
    const auditorC = await keys.create('auditor', 'misuse-c');
    expect((await call(service, '/api/v1/audit/verify', auditorC, address)).status).toBe(429);
    expect((await call(service, '/api/v1/audit/verify', auditorC, '10.0.0.4')).status).toBe(200);

    // Each 429 is an audited denial under the key's name (anonymous before a key was checked).
    const denied = await waitFor('the 429s audited', async () => {
      const rows = await service.rows<{ principal: string; record: string }>(
        "SELECT principal, record FROM audit_events WHERE kind = 'api' AND outcome = 'denied' AND JSONExtractInt(record, 'details', 'status') = 429",
      );
      return rows.length >= 5 ? rows : undefined;
    });
    expect(denied.map((r) => r.principal).sort()).toEqual([
      'anonymous',
      'anonymous',
      'misuse-a',
      'misuse-b',
      'misuse-c',
    ]);
  }, 90_000);

  it('a failed-auth block ends with its window', async () => {
    const service = await startTestService();
    const keys = new KeyStore(service.platform.db, service.config.api.adminKey);
    const probe: FastifyPluginAsync = (api) => {
      api.get('/probe', { config: { role: 'viewer' } }, () => ({ ok: true }));
      return Promise.resolve();
    };
    const app = await buildApp({
      logger: createLogger('silent'),
      keys,
      registry: new Registry(),
      readiness: { checks: () => Promise.resolve({ ok: true }) },
      metricsPublic: false,
      rateLimits: { windowMs: 1_000, authFailuresPerAddress: 2, expensivePerKey: 1, expensivePerAddress: 1 },
      routes: [probe],
    });
    const get = async (key?: string) =>
      (
        await app.inject({
          method: 'GET',
          url: '/api/v1/probe',
          headers: key ? { authorization: `Bearer ${key}` } : {},
        })
      ).statusCode;
    expect([await get('nope-0123456789'), await get('nope-0123456789')]).toEqual([401, 401]);
    expect(await get(service.config.api.adminKey)).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await get(service.config.api.adminKey)).toBe(200);
    await app.close();
  }, 60_000);
});
