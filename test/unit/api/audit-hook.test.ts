import type { FastifyPluginAsync } from 'fastify';
import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { cutText } from '../../../src/api/audit-hook.js';
import { buildApp } from '../../../src/api/index.js';
import { AuditLog, canonicalJson } from '../../../src/audit/index.js';
import { KeyStore } from '../../../src/auth/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { recordingLog } from '../../support/recording-audit-log.js';

const ADMIN = 'mw_unit-test-admin-key';
const EMOJI = '\u{1F600}';

const probes: FastifyPluginAsync = (api) => {
  api.get('/probe', { config: { role: 'viewer' } }, () => ({ ok: true }));
  // Like the metrics route: a path model and a querystring that lets unknown fields through.
  api.get('/models/:model/probe', { config: { role: 'viewer' } }, () => ({ ok: true }));
  return Promise.resolve();
};

/** `count` parameters named `<prefix><n>`, each given `repeat` times with `value`. */
function junkQuery(count: number, repeat: number, value: string, prefix = 'j'): string {
  const one = (n: number) => Array.from({ length: repeat }, () => `${prefix}${n}=${value}`).join('&');
  return Array.from({ length: count }, (_, n) => one(n)).join('&');
}

/** The app with a recording auditor; the bootstrap admin key never reaches the (absent) database. */
async function auditedApp(ready = true) {
  const audit = await recordingLog();
  const app = await buildApp({
    logger: createLogger('silent'),
    keys: new KeyStore({} as Database, ADMIN),
    registry: new Registry(),
    readiness: { checks: () => Promise.resolve({ kafka: ready }) },
    metricsPublic: false,
    auditor: audit.log,
    routes: [probes],
  });
  const get = async (url: string) =>
    (await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } })).statusCode;
  const getAnonymous = async (url: string) => (await app.inject({ method: 'GET', url })).statusCode;
  return { ...audit, app, get, getAnonymous };
}

describe('cutText', () => {
  it('cuts on code-point boundaries', () => {
    expect(cutText(`${'a'.repeat(255)}${EMOJI}`, 256)).toBe('a'.repeat(255));
    expect(cutText(`${'a'.repeat(254)}${EMOJI}`, 256)).toBe(`${'a'.repeat(254)}${EMOJI}`);
    expect(cutText(`${'a'.repeat(254)}${EMOJI}b`, 256)).toBe(`${'a'.repeat(254)}${EMOJI}`);
    expect(cutText('short', 256)).toBe('short');
  });
});

describe('API call auditing', () => {
  it('audits a call whose query would be cut inside an emoji (regression: the call escaped the trail)', async () => {
    const { app, get, sent, log } = await auditedApp();
    const hostile = encodeURIComponent(`${'a'.repeat(255)}${EMOJI}`);
    expect(await get(`/api/v1/probe?x=${hostile}&model=${hostile}&${'b'.repeat(255)}${EMOJI}=1`)).toBe(200);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({
      action: 'GET /api/v1/probe',
      principal: 'bootstrap-admin',
      model_id: `${'a'.repeat(255)}…`,
      details: { status: 200, params: { x: `${'a'.repeat(255)}…`, ['b'.repeat(255)]: '1' } },
    });
    expect(sent[0]?.details).not.toHaveProperty('params_dropped');
    expect(log.lost).toBe(0);
    await app.close();
  });

  it('records an unmatched path without the path (regression: the raw URL was chained as param *)', async () => {
    const { app, get, sent } = await auditedApp();
    expect(await get('/api/v1/mw_SECRETinpath/x?q=1')).toBe(404);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ action: 'GET (no route)', details: { status: 404, params: { q: '1' } } });
    expect(JSON.stringify(sent)).not.toContain('SECRETinpath');
    await app.close();
  });

  it('never audits public routes, whatever their status (a failing /readyz polled by a load balancer)', async () => {
    const { app, get, sent } = await auditedApp(false);
    expect(await get('/readyz')).toBe(503);
    expect(await get('/healthz')).toBe(200);
    expect(await get('/api/v1/probe')).toBe(200);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent.map((r) => r.action)).toEqual(['GET /api/v1/probe']);
    await app.close();
  });

  it('keeps the model and a bounded set of parameters under a junk query (regression: params_dropped, no model_id)', async () => {
    const { app, get, sent, log } = await auditedApp();
    expect(await get(`/api/v1/models/credit-risk/probe?${junkQuery(31, 16, '1')}`)).toBe(200);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    const details = sent[0]?.details as { params: Record<string, unknown> };
    expect(sent[0]).toMatchObject({ model_id: 'credit-risk', details: { params: { model: 'credit-risk' } } });
    expect(details).not.toHaveProperty('params_dropped');
    expect(Object.values(details.params).flat()).toHaveLength(256);
    expect(log.lost).toBe(0);
    await app.close();
  });

  it('records the path model, not a query parameter of the same name', async () => {
    const { app, get, sent } = await auditedApp();
    expect(await get('/api/v1/models/credit-risk/probe?model=other-model')).toBe(200);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({ model_id: 'credit-risk', details: { params: { model: 'credit-risk' } } });
    await app.close();
  });

  it('keeps a record of a call without a key small, whatever its query (regression: ~15 KB each, chained forever)', async () => {
    const { app, getAnonymous, sent } = await auditedApp();
    const long = encodeURIComponent('\u0001'.repeat(250));
    const calls = [
      `/api/v1/models/credit-risk/probe?${junkQuery(29, 2, 'z'.repeat(250))}`,
      `/api/v1/models/credit-risk/probe?${junkQuery(31, 16, long, '\u0001'.repeat(40))}`,
    ];
    for (const url of calls) expect(await getAnonymous(url)).toBe(401);
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    for (const record of sent) {
      expect(record).toMatchObject({ principal: 'anonymous', outcome: 'denied', model_id: 'credit-risk' });
      expect(Buffer.byteLength(canonicalJson(record))).toBeLessThan(2048);
    }
    // Still useful: the names tried and the start of each value.
    expect((sent[0]?.details as { params: Record<string, unknown> }).params).toMatchObject({
      model: 'credit-risk',
      j0: [`${'z'.repeat(32)}…`, `${'z'.repeat(32)}…`],
    });
    await app.close();
  });
});

describe('state changes while the audit trail cannot be reached', () => {
  it('are a 503 before the route runs; reads are served; once the log sends, the change goes through', async () => {
    const sent: unknown[] = [];
    const producer = {
      send: (record: { messages: { value: string }[] }) => {
        sent.push(...record.messages.map((m) => JSON.parse(m.value) as unknown));
        return Promise.resolve([]);
      },
    } as unknown as Producer;
    // Not started: the producer has not connected yet (Kafka unreachable since start).
    const log = new AuditLog({ producer, topic: 'audit', logger: createLogger('silent') });
    let changed = 0;
    const routes: FastifyPluginAsync = (api) => {
      api.get('/things', { config: { role: 'viewer' } }, () => ({ changed }));
      // Like the audit export: a GET that records a change (export.run) before it answers.
      api.get('/export', { config: { role: 'viewer' } }, async (request) => {
        await request.auditChange({ action: 'export.run', resource_type: 'audit', resource_id: 'x' });
        return { exported: true };
      });
      api.put('/things', { config: { role: 'admin' } }, async (request) => {
        changed += 1;
        await request.auditChange({ action: 'policy.change', resource_type: 'thing', resource_id: 't' });
        return { changed };
      });
      return Promise.resolve();
    };
    const app = await buildApp({
      logger: createLogger('silent'),
      keys: new KeyStore({} as Database, ADMIN),
      registry: new Registry(),
      readiness: { checks: () => Promise.resolve({ kafka: false }) },
      metricsPublic: false,
      auditor: log,
      routes: [routes],
    });
    const headers = { authorization: `Bearer ${ADMIN}` };
    const refused = await app.inject({ method: 'PUT', url: '/api/v1/things', headers });
    expect([refused.statusCode, refused.headers['retry-after'], changed]).toEqual([503, '5', 0]);
    expect(refused.json<{ message: string }>().message).toMatch(/audit trail cannot be reached/);
    expect((await app.inject({ method: 'GET', url: '/api/v1/things', headers })).statusCode).toBe(200);
    const exported = await app.inject({ method: 'GET', url: '/api/v1/export', headers });
    expect([exported.statusCode, exported.headers['retry-after']]).toEqual([503, '5']);

    await log.start();
    const accepted = await app.inject({ method: 'PUT', url: '/api/v1/things', headers });
    expect([accepted.statusCode, changed]).toEqual([200, 1]);
    expect(sent).toContainEqual(expect.objectContaining({ action: 'policy.change', resource_id: 't' }));
    expect((await app.inject({ method: 'GET', url: '/api/v1/export', headers })).statusCode).toBe(200);
    await app.close();
  });
});
