import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/platform/config/index.js';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { prediction } from '../support/events.js';
import { isolatedEnv, produce, waitFor } from '../support/harness.js';
import { messageCount, readTopic } from '../support/triggers.js';

const cli = path.resolve('dist/cli/main.js');
const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);
const PER_HOUR = 100;

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

/** Hours 0-3 of model `crash-demo`; feature `a` moves by 3 from hour 2 on. */
function events() {
  return Array.from({ length: 4 * PER_HOUR }, (_, i) => {
    const hour = Math.floor(i / PER_HOUR);
    return prediction(i, {
      model_id: 'crash-demo',
      model_version: '1',
      timestamp: T0 + Math.floor((i * HOUR) / PER_HOUR),
      features: { a: ((i * 7919) % 100) / 100 + (hour >= 2 ? 3 : 0) },
    });
  });
}

describe('the service killed between a window closing and its trigger being published', () => {
  it('publishes the trigger exactly once after a restart (real process, SIGKILL)', async () => {
    expect(existsSync(cli), 'the CLI is built (npm test runs npm run build first)').toBe(true);
    const port = String(await freePort());
    const env = isolatedEnv({
      MODELWATCH_API_PORT: port,
      MODELWATCH_LOG_LEVEL: 'error',
      MODELWATCH_RETRAIN_INTERVAL_MS: '500',
    });
    const config = loadConfig(env);
    const api = async (method: string, url: string, body?: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}/api/v1${url}`, {
        method,
        headers: {
          authorization: `Bearer ${config.api.adminKey ?? ''}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const listed = async () =>
      (await api('GET', '/retrain-triggers?model=crash-demo')).body['triggers'] as {
        trigger_id: string;
        published: boolean;
        window: { start: string };
      }[];

    // The first instance stores triggers but would wait 10 minutes before publishing (test-only hook).
    const first = serve({ ...env, MODELWATCH_RETRAIN_PUBLISH_DELAY_MS: '600000' });
    await waitFor('first instance up', () =>
      fetch(`http://127.0.0.1:${port}/healthz`).then((r) => (r.ok ? true : undefined)),
    );
    const all = events();
    await produce(config.topics.predictions, all);
    await waitFor('every prediction stored', async () => {
      const metrics = await api('GET', `/models/crash-demo/metrics?from=${T0}&to=${T0 + 4 * HOUR}&bucket=1h`);
      const buckets = (metrics.body['buckets'] as { count: number }[] | undefined) ?? [];
      return buckets.reduce((s, b) => s + b.count, 0) === all.length ? true : undefined;
    });
    const retrain = { drift: { columns: ['a'], consecutive_windows: 1 }, cooldown: '1d' };
    expect(
      (
        await api('PUT', '/models/crash-demo/policy', {
          drift: { evaluation_window: '1h', allowed_lateness: '0s' },
          retrain,
        })
      ).status,
    ).toBe(200);
    expect(
      (await api('PUT', '/models/crash-demo/versions/1/reference', { from: T0, to: T0 + 2 * HOUR })).status,
    ).toBe(200);

    // Hours 0-2 are complete; `a` drifted in hour 2: one trigger, stored, not yet published.
    const [stored] = await waitFor('the trigger stored', async () => {
      const triggers = await listed();
      return triggers.length > 0 ? triggers : undefined;
    });
    expect(stored).toMatchObject({
      published: false,
      window: { start: new Date(T0 + 2 * HOUR).toISOString() },
    });
    expect(await messageCount(config.topics.retrain)).toBe(0);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    // The restarted instance (no delay) takes the partitions once the dead member's session ends.
    const second = serve(env);
    await waitFor(
      'the trigger published after the restart',
      async () => ((await listed())[0]?.published ? true : undefined),
      90_000,
    );
    // Another pass of the evaluator and the publisher, then a clean restart: still one message.
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));
    const third = serve(env);
    await waitFor(
      'third instance ready',
      () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? true : undefined)),
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await listed()).toHaveLength(1);
    third.kill('SIGTERM');
    await new Promise((resolve) => third.once('exit', resolve));

    const messages = await readTopic(config.topics.retrain);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.value).toMatchObject({
      trigger_id: stored!.trigger_id,
      model_id: 'crash-demo',
      reason: 'drift',
      policy: retrain,
    });
  }, 240_000);
});
