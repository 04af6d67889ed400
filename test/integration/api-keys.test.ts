import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { KeyStore } from '../../src/auth/index.js';
import { lockDataDir } from '../../src/platform/cli/index.js';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { isolatedEnv, tempDir, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

const cli = path.resolve('dist/cli/main.js');

async function call(
  service: TestService,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  key: string,
  body?: object,
) {
  const response = await service.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(body ? { payload: body } : {}),
  });
  return { status: response.statusCode, text: response.body };
}

describe('API keys over REST and the CLI', () => {
  it('creates (shown once), lists without keys, revokes (refused at once), audits both, stores only hashes', async () => {
    const service = await startTestService({ MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
    const admin = service.config.api.adminKey ?? '';
    const created = await call(service, 'POST', '/api/v1/keys', admin, { role: 'viewer', name: 'dash' });
    expect(created.status).toBe(201);
    const { key, id } = JSON.parse(created.text) as { key: string; id: string };
    expect(key).toMatch(/^mw_/);
    expect((await call(service, 'GET', '/api/v1/models', key)).status).toBe(200);
    expect((await call(service, 'GET', '/api/v1/keys', key)).status).toBe(403);

    const listed = await call(service, 'GET', '/api/v1/keys', admin);
    expect(JSON.parse(listed.text)).toEqual([
      expect.objectContaining({ id, name: 'dash', role: 'viewer', revoked: false }),
    ]);
    expect(listed.text).not.toContain(key);
    // The name is the principal of the key's audit records: one active key of a name, none of the service's.
    const again = await call(service, 'POST', '/api/v1/keys', admin, { role: 'admin', name: 'dash' });
    expect(again).toMatchObject({ status: 409 });
    expect(again.text).toContain("key name 'dash' belongs to an active key");
    const reserved = await call(service, 'POST', '/api/v1/keys', admin, {
      role: 'viewer',
      name: 'bootstrap-admin',
    });
    expect(reserved.status).toBe(400);

    const [before] = JSON.parse(listed.text) as Record<string, unknown>[];
    expect(before).toMatchObject({ revoked_at: null });
    const revokedAnswer = await call(service, 'DELETE', `/api/v1/keys/${id}`, admin);
    expect(revokedAnswer.status).toBe(200);
    // Revoked, a key keeps its creation time; the answer is what the list says from then on.
    const revokedKey = JSON.parse(revokedAnswer.text) as Record<string, unknown>;
    expect(revokedKey).toMatchObject({ id, created_at: before?.['created_at'], revoked: true });
    expect(Date.parse(String(revokedKey['revoked_at']))).toBeGreaterThan(
      Date.parse(String(before?.['created_at'])),
    );
    const listedAfter = JSON.parse((await call(service, 'GET', '/api/v1/keys', admin)).text) as unknown[];
    expect(listedAfter).toEqual([revokedKey]);
    expect((await call(service, 'GET', '/api/v1/models', key)).status).toBe(401);
    expect((await call(service, 'DELETE', `/api/v1/keys/${id}`, admin)).status).toBe(404);
    expect((await call(service, 'DELETE', '/api/v1/keys/not-an-id', admin)).status).toBe(400);
    expect((await call(service, 'POST', '/api/v1/keys', admin, { role: 'root' })).status).toBe(400);
    // Revoked, its name is free again.
    expect(
      (await call(service, 'POST', '/api/v1/keys', admin, { role: 'viewer', name: 'dash' })).status,
    ).toBe(201);

    const audited = await waitFor('key changes chained', async () => {
      const rows = await service.rows<{ action: string; record: string }>(
        "SELECT action, record FROM audit_events WHERE action IN ('key.create', 'key.revoke')",
      );
      return rows.length === 3 ? rows : undefined;
    });
    expect(audited.map((r) => r.action).sort()).toEqual(['key.create', 'key.create', 'key.revoke']);
    const everything = await service.rows<Record<string, unknown>>('SELECT * FROM api_keys');
    const stored = JSON.stringify(everything) + audited.map((r) => r.record).join('');
    expect(stored).not.toContain(key);
    expect(stored).not.toContain(key.slice(3, 20));
  }, 90_000);

  it('the CLI manages keys through the running service (which holds the engine)', async () => {
    const service = await startTestService();
    // As `serve` and `up` do: the lock is what tells the CLI that a service holds the engine.
    onTestFinished(await lockDataDir(service.config.clickhouse.dataDir));
    const port = new URL(service.url).port;
    const env = {
      ...process.env,
      MODELWATCH_API_PORT: port,
      MODELWATCH_ADMIN_KEY: service.config.api.adminKey ?? '',
      MODELWATCH_DATA_DIR: service.config.clickhouse.dataDir,
      MODELWATCH_CLICKHOUSE_DATABASE: service.config.clickhouse.database,
    };
    const run = promisify(execFile);
    const created = await run(
      process.execPath,
      [cli, 'keys', 'create', '--role', 'auditor', '--name', 'cli-made'],
      { env },
    );
    const key = created.stdout.trim();
    const id = /id ([0-9a-f]{16})/.exec(created.stderr)?.[1] ?? '';
    expect((await call(service, 'GET', '/api/v1/audit/verify', key)).status).toBe(200);
    const listed = await run(process.execPath, [cli, 'keys', 'list'], { env });
    expect(listed.stdout).toContain('"name":"cli-made"');
    expect(listed.stdout).not.toContain(key);
    await run(process.execPath, [cli, 'keys', 'revoke', id], { env });
    expect((await call(service, 'GET', '/api/v1/audit/verify', key)).status).toBe(401);
  }, 90_000);

  it('keys the CLI makes on a stopped service’s database are audited once a service runs there', async () => {
    const port = String(await freePort());
    const env = {
      ...process.env,
      ...isolatedEnv({ MODELWATCH_DATA_DIR: tempDir(), MODELWATCH_API_PORT: port }),
    };
    const run = promisify(execFile);
    const keys = async (...args: string[]) => run(process.execPath, [cli, 'keys', ...args], { env });
    const idOf = (stderr: string) => /id ([0-9a-f]{16})/.exec(stderr)?.[1] ?? 'none';
    const adminId = idOf((await keys('create', '--role', 'admin', '--name', 'offline-admin')).stderr);
    const viewerId = idOf((await keys('create', '--role', 'viewer', '--name', 'offline-viewer')).stderr);
    await keys('revoke', viewerId);

    const service = spawn(process.execPath, [cli, 'serve'], { env, stdio: 'ignore' });
    onTestFinished(() => void service.kill('SIGKILL'));
    const base = `http://127.0.0.1:${port}/api/v1`;
    const headers = { authorization: `Bearer ${env['MODELWATCH_ADMIN_KEY']}` };
    type Row = { action: string; resource_id: string; principal: string };
    const rows = await waitFor(
      'the queued key records chained',
      async () => {
        const answer = await fetch(`${base}/audit/events?principal=modelwatch-cli&format=jsonl`, {
          headers,
        }).catch(() => undefined);
        if (answer?.status !== 200) return undefined;
        const lines = (await answer.text()).trim().split('\n').filter(Boolean);
        return lines.length >= 3 ? lines.map((line) => JSON.parse(line) as Row) : undefined;
      },
      60_000,
    );
    expect(rows.map((r) => [r.action, r.resource_id])).toEqual([
      ['key.create', adminId],
      ['key.create', viewerId],
      ['key.revoke', viewerId],
    ]);
    expect(rows[0]).toMatchObject({
      principal: 'modelwatch-cli',
      details: { role: 'admin', name: 'offline-admin', via: 'modelwatch keys' },
    });
    // Sent once, each deleted once sent: test/integration/audit-outbox.test.ts.
  }, 120_000);

  it('the failed-auth cache is bounded', async () => {
    const service = await startTestService();
    const store = new KeyStore(service.platform.db, undefined, 100);
    for (let i = 0; i < 250; i++)
      expect(await store.authenticate(`wrong-${i}-0123456789abcdef`)).toBeUndefined();
    expect(store.cacheSize).toBe(100);
  }, 60_000);
});

describe('body limits', () => {
  it('refuses a 2 MB body on a route without uploads with 413 in the one error shape; the service answers afterwards', async () => {
    const service = await startTestService();
    const admin = service.config.api.adminKey ?? '';
    const big = { role: 'viewer', name: 'x'.repeat(2 * 1024 * 1024) };
    const refused = await call(service, 'POST', '/api/v1/keys', admin, big);
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.text)).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'the body is too large',
    });
    expect((await call(service, 'GET', '/api/v1/keys', admin)).status).toBe(200);
  }, 60_000);
});
