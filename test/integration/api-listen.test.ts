import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { tempDir, waitFor } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

/** A non-loopback IPv4 address of this machine: where a listener on 0.0.0.0 is reachable and one on 127.0.0.1 is not. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;

async function reachable(host: string, port: number): Promise<boolean> {
  try {
    return (await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(3_000) })).ok;
  } catch {
    return false;
  }
}

/** Starts `command` asking for 0.0.0.0; Kafka is unreachable, so `up` starts no broker and both listen at once. */
async function start(command: 'up' | 'serve'): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [cli, command], {
    env: {
      ...process.env,
      MODELWATCH_KAFKA_BROKERS: '127.0.0.1:1',
      MODELWATCH_DATA_DIR: tempDir(),
      MODELWATCH_API_PORT: String(port),
      MODELWATCH_API_HOST: '0.0.0.0',
      MODELWATCH_ADMIN_KEY: 'listen-test-admin-key-0123',
      MODELWATCH_LOG_LEVEL: 'error',
    },
    stdio: 'ignore',
  });
  onTestFinished(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });
  await waitFor(`${command} listening on loopback`, async () =>
    (await reachable('127.0.0.1', port)) ? true : undefined,
  );
  return port;
}

describe('where the API listens', () => {
  it.skipIf(outside === undefined)(
    'up listens on loopback only, serve where MODELWATCH_API_HOST says',
    async () => {
      const up = await start('up');
      expect(await reachable(outside ?? '', up)).toBe(false);
      const serve = await start('serve');
      expect(await reachable(outside ?? '', serve)).toBe(true);
    },
    90_000,
  );
});
