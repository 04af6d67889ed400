import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { audit } from '../../src/audit/index.js';
import { lockDataDir } from '../../src/platform/cli/index.js';
import { isolatedEnv, tempDir, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

const cli = path.resolve('dist/cli/main.js');

function verify(env: Record<string, string | undefined>, timeout = 60_000) {
  const result = spawnSync(process.execPath, [cli, 'audit', 'verify'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `modelwatch audit verify` in a child process while this one keeps serving. */
function verifyBeside(env: Record<string, string | undefined>, args: string[] = []) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cli, 'audit', 'verify', ...args],
      { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

/** A service on a data directory of its own (the CLI's engine opens it once the service has closed it), with one audit record chained. */
async function serviceWithOneRecord() {
  const env = isolatedEnv({ MODELWATCH_DATA_DIR: tempDir(), MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
  const service = await startTestService(env);
  await service.use(audit).log.change({
    principal: 'admin',
    action: 'key.create',
    resource_type: 'api_key',
    resource_id: 'k-cli',
    details: { role: 'viewer' },
  });
  const head = await waitFor('the record chained', async () => {
    const [row] = await service.rows<{ chain: string; position: string }>(
      "SELECT chain, position FROM audit_events WHERE resource_id = 'k-cli'",
    );
    return row;
  });
  return { env, service, head };
}

describe('modelwatch audit verify', () => {
  it('checks each chain head’s source offset against its partition’s end, as the service does', async () => {
    const { env, service, head } = await serviceWithOneRecord();
    // source_offset is not hashed: only the partition's end shows this edit.
    await service.platform.db.client.command({
      query: `ALTER TABLE audit_events UPDATE source_offset = 9000000000000000000 WHERE chain = {chain:String} AND position = {position:UInt64}`,
      query_params: head,
      clickhouse_settings: { mutations_sync: '2' },
    });
    await service.close();

    const checked = verify(env);
    expect(checked.code, checked.stderr).toBe(1);
    expect(JSON.parse(checked.stdout)).toMatchObject({
      ok: false,
      first_broken: { chain: head.chain, reason: 'offset_beyond_end' },
    });

    // Without a broker the chains still verify, and the output says what was not checked.
    const unchecked = verify({ ...env, MODELWATCH_KAFKA_BROKERS: undefined });
    expect(unchecked.code, unchecked.stderr).toBe(0);
    expect(JSON.parse(unchecked.stdout)).toMatchObject({ ok: true });
    expect(unchecked.stderr).toBe('head source offsets not checked: MODELWATCH_KAFKA_BROKERS is not set\n');

    // A broker that is down: the chains verify, the check is said to be left out, and kafkajs'
    // eight connection retries (33 s here) are not waited for (killed at 15 s: status null).
    const down = verify({ ...env, MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1' }, 15_000);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ ok: true });
    expect(down.stderr).toContain('head source offsets not checked');
  });

  it('asks the running service when it holds the embedded engine (the engine locks its directory)', async () => {
    const { env, service } = await serviceWithOneRecord();
    // As `serve` and `up` do: the lock is what tells the CLI that a service holds the engine.
    onTestFinished(await lockDataDir(service.config.clickhouse.dataDir));
    const running = { ...env, MODELWATCH_API_PORT: new URL(service.url).port };

    // The service answers in this process: the CLI runs beside it, not blocking it (no spawnSync).
    const asked = await verifyBeside(running);
    expect(asked.code, asked.stderr).toBe(0);
    expect(JSON.parse(asked.stdout)).toMatchObject({ ok: true, chains: expect.any(Number) as number });
    expect(asked.stderr).toContain('verifying through the service at http://127.0.0.1:');

    const keyless = await verifyBeside({ ...running, MODELWATCH_ADMIN_KEY: undefined });
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(
      /holds the embedded database: set MODELWATCH_ADMIN_KEY to verify through its API/,
    );
    const digest = await verifyBeside(running, ['--digest', 'any.json']);
    expect(digest.code).toBe(2);
    expect(digest.stderr).toContain('--digest and --from-topic need it stopped');
  });
});
