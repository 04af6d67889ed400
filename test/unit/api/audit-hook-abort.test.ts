/**
 * Calls whose client leaves early, over real HTTP: Fastify's onResponse never runs for them, and
 * inject cannot reset a connection.
 */
import net from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../../src/api/index.js';
import type { AuditRecord } from '../../../src/audit/index.js';
import { KeyStore } from '../../../src/auth/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { recordingLog } from '../../support/recording-audit-log.js';

const ADMIN = 'mw_unit-test-admin-key';
// Far more than loopback socket buffers hold, so the answer cannot finish before the reset.
const BIG = 'x'.repeat(16 * 1024 * 1024);

let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A listening app with a large answer and a handler that waits for `release`. */
async function listening(keys = new KeyStore({} as Database, ADMIN)) {
  const audit = await recordingLog();
  let release = () => {};
  let started = () => {};
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  const routes: FastifyPluginAsync = (api) => {
    api.get('/big', { config: { role: 'viewer' } }, () => ({ data: BIG }));
    api.get('/slow', { config: { role: 'viewer' } }, async () => {
      started();
      await new Promise<void>((resolve) => (release = resolve));
      return { ok: true };
    });
    return Promise.resolve();
  };
  app = await buildApp({
    logger: createLogger('silent'),
    keys,
    registry: new Registry(),
    readiness: { checks: () => Promise.resolve({}) },
    metricsPublic: false,
    auditor: audit.log,
    routes: [routes],
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { ...audit, address, handlerStarted, release: () => release() };
}

/** Sends a GET on a raw socket; resolves with the socket once the first answer bytes (if any) arrive. */
function rawGet(address: string, path: string, awaitData: boolean): Promise<net.Socket> {
  const { port } = new URL(address);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
      if (!awaitData) resolve(socket);
    });
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Waits long enough for a second record to show up, if one were coming. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

const actions = (sent: AuditRecord[]) => sent.map((r) => `${r.action} ${String(r.details['status'])}`);

describe('API call auditing when the client leaves early', () => {
  it('records a call whose client resets the connection mid-answer, once, as aborted (regression: no record)', async () => {
    const { address, sent } = await listening();
    const socket = await rawGet(address, '/api/v1/big', true);
    socket.resetAndDestroy();
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    await settle();
    expect(actions(sent)).toEqual(['GET /api/v1/big 200']);
    expect(sent[0]).toMatchObject({
      principal: 'bootstrap-admin',
      outcome: 'allowed',
      details: { aborted: true },
    });
  });

  it('records a call whose client leaves while the handler runs, once, as aborted (regression: no record)', async () => {
    const { address, sent, handlerStarted, release } = await listening();
    const socket = await rawGet(address, '/api/v1/slow', false);
    await handlerStarted;
    socket.destroy();
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    release();
    await settle();
    expect(actions(sent)).toEqual(['GET /api/v1/slow 499']);
    expect(sent[0]).toMatchObject({ principal: 'bootstrap-admin', details: { aborted: true } });
  });

  it('records a call answered in full exactly once, not aborted', async () => {
    const { address, sent } = await listening();
    const answer = await fetch(`${address}/api/v1/big`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect((await answer.text()).length).toBeGreaterThan(BIG.length);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    const denied = await fetch(`${address}/api/v1/big`);
    expect(denied.status).toBe(401);
    await denied.text();
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    await settle();
    expect(actions(sent)).toEqual(['GET /api/v1/big 200', 'GET /api/v1/big 401']);
    for (const record of sent) expect(record.details).not.toHaveProperty('aborted');
  });

  it('records a call whose client leaves during the key check, once, with the answer it got', async () => {
    let checked = () => {};
    const checking = new Promise<void>((resolve) => (checked = resolve));
    let answer = (_: undefined) => {};
    const unknownKey = { authenticate: () => (checked(), new Promise((resolve) => (answer = resolve))) };
    const { address, sent } = await listening(unknownKey as unknown as KeyStore);
    const socket = await rawGet(address, '/api/v1/slow', false);
    await checking;
    socket.destroy();
    await settle();
    answer(undefined);
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    await settle();
    expect(actions(sent)).toEqual(['GET /api/v1/slow 401']);
    expect(sent[0]).toMatchObject({ principal: 'anonymous', outcome: 'denied', details: { aborted: true } });
  });
});
