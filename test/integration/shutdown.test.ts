import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { allMigrations } from '../support/migrations.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { loadConfig, type Config } from '../../src/platform/config/index.js';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { prediction } from '../support/events.js';
import { isolatedEnv, produce, tempDir, testKafka, waitFor, waitForGroupAtEnd } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

function serve(env: Record<string, string>): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => stderr };
}

/** Runs `step` on the service's embedded database from this process (the service is not running). */
async function withDatabase(config: Config, step: (db: Database) => Promise<void>): Promise<void> {
  const db = await openDatabase(config.clickhouse);
  try {
    await step(db);
  } finally {
    await db.close();
  }
}

async function committedOffsets(groupId: string, topic: string): Promise<string[]> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).map((p) => p.offset);
  } finally {
    await admin.disconnect();
  }
}

async function readyz(port: string): Promise<number | undefined> {
  return fetch(`http://127.0.0.1:${port}/readyz`).then(
    (r) => r.status,
    () => undefined,
  );
}

describe('modelwatch serve on SIGTERM', () => {
  it('exits within 10 s while a batch write is being retried, and leaves that batch uncommitted (real process)', async () => {
    expect(existsSync(cli), 'the CLI is built (npm test runs npm run build first)').toBe(true);
    const port = String(await freePort());
    const env = isolatedEnv({
      MODELWATCH_DATA_DIR: tempDir(),
      MODELWATCH_API_PORT: port,
      MODELWATCH_LOG_LEVEL: 'warn',
    });
    const config = loadConfig(env);

    // Every insert into predictions fails (the table is gone): a retryable error. Its statement is
    // kept to make it again as the migrations left it (later migrations added columns and an index).
    let create = '';
    await withDatabase(config, async (db) => {
      await migrate(db, allMigrations);
      const shown = await db.client.query({ query: 'SHOW CREATE TABLE predictions', format: 'JSONEachRow' });
      create = Object.values((await shown.json<Record<string, string>>())[0] ?? {})[0] ?? '';
      await db.client.command({ query: 'DROP TABLE predictions' });
    });
    expect(create).toMatch(/^CREATE TABLE .*predictions/);

    const first = serve(env);
    await waitFor('the service is up', async () => ((await readyz(port)) === 200 ? true : undefined), 60_000);
    await produce(
      config.topics.predictions,
      Array.from({ length: 30 }, (_, i) => prediction(i)),
      (i) => `k${i}`,
    );
    await waitFor('the write is being retried', () =>
      Promise.resolve(first.stderr().includes('batch write failed; retrying') ? true : undefined),
    );
    await waitFor('a few attempts', () =>
      Promise.resolve(
        (first.stderr().match(/batch write failed; retrying/g) ?? []).length >= 3 ? true : undefined,
      ),
    );
    expect(await readyz(port)).toBe(503);

    const signalled = Date.now();
    first.child.kill('SIGTERM');
    const exitCode = await new Promise<number | null>((resolve) => first.child.once('exit', resolve));
    const tookMs = Date.now() - signalled;
    expect(tookMs).toBeLessThan(10_000);
    expect(exitCode).toBe(0);
    expect(first.stderr()).toContain('its offsets stay uncommitted');
    // Nothing of the failed batch was committed: the group has no offset on any partition.
    const offsets = await committedOffsets(config.ingest.consumerGroup, config.topics.predictions);
    expect(offsets.length).toBe(config.topics.partitions);
    expect(offsets.every((o) => o === '-1')).toBe(true);

    // Nothing lost: with the table back, the next instance reads the batch again and stores it all.
    await withDatabase(config, async (db) => {
      await db.client.command({ query: create });
    });
    const second = serve(env);
    await waitForGroupAtEnd(config.ingest.consumerGroup, config.topics.predictions, 90_000);
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
    await withDatabase(config, async (db) => {
      const result = await db.client.query({
        query: 'SELECT count() AS n FROM predictions FINAL',
        format: 'JSONEachRow',
      });
      expect(await result.json()).toEqual([{ n: 30 }]);
    });
  }, 240_000);
});
