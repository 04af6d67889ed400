import type { FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.js';
import { KeyStore } from '../../src/auth/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { startTestService } from '../support/service.js';

const probes: FastifyPluginAsync = (api) => {
  api.get('/viewer-only', { config: { role: 'viewer' } }, () => ({ ok: true }));
  api.get('/auditor-only', { config: { role: 'auditor' } }, () => ({ ok: true }));
  api.get('/forgot-to-say', () => ({ ok: true }));
  return Promise.resolve();
};

describe('API authentication (keys stored hashed in ClickHouse)', () => {
  it('answers 401 without a key or with an unknown one, 403 for a weaker role, and fails closed', async () => {
    const service = await startTestService();
    const keys = new KeyStore(service.platform.db, service.config.api.adminKey);
    const app = await buildApp({
      logger: createLogger('silent'),
      keys,
      registry: new Registry(),
      readiness: { checks: () => Promise.resolve({ ok: true }) },
      metricsPublic: false,
      routes: [probes],
    });
    const viewer = await keys.create('viewer', 'test viewer');
    const auditor = await keys.create('auditor', 'test auditor');
    const call = async (url: string, key?: string) => {
      const response = await app.inject({
        method: 'GET',
        url,
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
      const json = response.headers['content-type']?.toString().startsWith('application/json');
      return {
        status: response.statusCode,
        message: json ? response.json<{ message?: string }>().message : undefined,
      };
    };

    expect(await call('/api/v1/viewer-only')).toEqual({
      status: 401,
      message: 'missing API key: send Authorization: Bearer <key>',
    });
    expect((await call('/api/v1/viewer-only', 'mw_not-a-real-key')).status).toBe(401);
    expect((await call('/api/v1/viewer-only', viewer)).status).toBe(200);
    expect(await call('/api/v1/auditor-only', viewer)).toEqual({
      status: 403,
      message: 'this route needs the auditor role; the key has viewer',
    });
    expect((await call('/api/v1/auditor-only', auditor)).status).toBe(200);
    // A route that does not declare a role needs admin.
    expect((await call('/api/v1/forgot-to-say', auditor)).status).toBe(403);
    expect((await call('/api/v1/forgot-to-say', service.config.api.adminKey)).status).toBe(200);
    // /metrics needs a viewer key when it is not public; health probes never need one.
    expect((await call('/metrics')).status).toBe(401);
    expect((await call('/metrics', viewer)).status).toBe(200);
    expect((await call('/healthz')).status).toBe(200);
    expect((await call('/readyz')).status).toBe(200);
    await app.close();
  });

  it('serves the OpenAPI document at /docs without a key', async () => {
    const service = await startTestService();
    const response = await service.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    expect(response.json<{ openapi: string }>().openapi).toMatch(/^3\./);
  });
});
