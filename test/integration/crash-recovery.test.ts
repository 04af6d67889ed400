import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { openDatabase } from '../../src/platform/clickhouse/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { prediction } from '../support/events.js';
import { isolatedEnv, produce, waitFor, waitForGroupAtEnd } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

function serve(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [cli, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.resume();
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return child;
}

async function storedCount(port: string): Promise<number | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const body = await response.text();
  const match = /modelwatch_messages_total\{topic="[^"]+\.predictions",outcome="stored"\} (\d+)/.exec(body);
  return match ? Number(match[1]) : undefined;
}

describe('a consumer killed mid-batch', () => {
  it('loses nothing and counts nothing twice once another instance takes over (real process, SIGKILL)', async () => {
    expect(existsSync(cli), 'the CLI is built (npm test runs npm run build first)').toBe(true);
    const total = 20_000;
    const port = String(await freePort());
    const env = isolatedEnv({
      MODELWATCH_BATCH_MAX_ROWS: '1000',
      MODELWATCH_API_PORT: port,
      MODELWATCH_LOG_LEVEL: 'error',
    });
    const config = loadConfig(env);

    const first = serve(env);
    await waitFor('first instance up', () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then((r) => (r.ok ? true : undefined)),
    );
    // Half the traffic before the kill, half after: the kill lands part-way through however fast
    // the first instance stores (on a quiet machine it once stored all 20,000 between two polls).
    const half = total / 2;
    const events = Array.from({ length: total }, (_, i) => prediction(i));
    await produce(config.topics.predictions, events.slice(0, half));
    // Kill it while it is part-way through: some batches stored, more in flight.
    const storedBeforeKill = await waitFor('some batches stored', async () => {
      const stored = await storedCount(port);
      return stored !== undefined && stored >= 2_000 ? stored : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    expect(storedBeforeKill).toBeLessThanOrEqual(half);
    await produce(config.topics.predictions, events.slice(half));

    const second = serve(env);
    await waitForGroupAtEnd(config.ingest.consumerGroup, config.topics.predictions, 300_000);
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    const db = await openDatabase(config.clickhouse);
    try {
      const result = await db.client.query({
        query: `SELECT (SELECT count() FROM predictions FINAL) AS final, (SELECT uniqExact(prediction_id) FROM predictions) AS ids,
                       (SELECT count() FROM predictions) AS raw`,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ final: number; ids: number; raw: number }>();
      expect(row?.final).toBe(total);
      expect(row?.ids).toBe(total);
      expect(row?.raw).toBeGreaterThanOrEqual(total);
    } finally {
      await db.close();
    }
  }, 420_000);
});
