import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir, waitFor } from '../support/harness.js';
import { freePort } from '../support/prometheus.js';

/**
 * A service on a ClickHouse server never loads the embedded engine (chdb, 566 MB of libchdb.so):
 * `serve` starts where chdb cannot load (linux arm64 without its platform package, simulated by a
 * module hook that fails every chdb import), and in server mode the library is not even mapped.
 */
const cli = path.resolve('dist/cli/main.js');
const blockChdb = pathToFileURL(path.resolve('test/support/block-chdb.mjs')).href;
// Nothing listens on port 1: the service keeps retrying, which is what this test needs.
const SERVER = 'http://modelwatch:secret@127.0.0.1:1/modelwatch';

async function startServe(nodeArgs: string[]) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, cli, 'serve'], {
    env: {
      ...process.env,
      MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1',
      MODELWATCH_CLICKHOUSE_URL: SERVER,
      MODELWATCH_DATA_DIR: tempDir(),
      MODELWATCH_API_PORT: String(port),
      MODELWATCH_API_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  onTestFinished(() => void child.kill('SIGKILL'));
  const readyz = await waitFor('serve answering /readyz', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: (await response.json()) as { checks: Record<string, boolean> } };
  });
  await waitFor('a log line naming the ClickHouse server', () =>
    Promise.resolve(
      stderr.includes('ClickHouse server http://modelwatch:***@127.0.0.1:1') ? true : undefined,
    ),
  );
  return { child, port, readyz, stderr: () => stderr };
}

describe('serve on a ClickHouse server without the embedded engine', () => {
  it('starts, answers and stops cleanly where chdb cannot load', async () => {
    const { child, port, readyz, stderr } = await startServe(['--import', blockChdb]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(readyz.status).toBe(503);
    expect(readyz.body.checks['clickhouse']).toBe(false);
    expect(stderr()).not.toContain('chdb');
    expect(stderr()).not.toContain('secret');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')('does not map libchdb.so into the process', async () => {
    const { child } = await startServe([]);
    const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    expect(maps).toContain(path.basename(process.execPath));
    expect(maps).not.toContain('libchdb');
  });

  it('an embedded command where chdb cannot load fails in one line naming the way out', () => {
    const { MODELWATCH_CLICKHOUSE_URL: _server, ...env } = process.env;
    const result = spawnSync(process.execPath, ['--import', blockChdb, cli, 'migrate'], {
      env: { ...env, MODELWATCH_DATA_DIR: tempDir() },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^modelwatch: the embedded ClickHouse engine \(the chdb package\) cannot load on this platform .*; set MODELWATCH_CLICKHOUSE_URL to a ClickHouse server$/,
      ),
    ]);
  });
});
