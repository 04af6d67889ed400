import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../src/platform/kafka/local-broker/tools.js';
import { isolatedEnv, tempDir, waitFor } from '../support/harness.js';
import { readTopic } from '../support/triggers.js';
import { FEATURES } from '../../src/simulator/data.js';

/**
 * `modelwatch up` as a newcomer runs it, at 10× the default speed, against the test broker
 * (MODELWATCH_KAFKA_BROKERS set: up starts no broker of its own). Everything is checked through
 * the API and the retrain topic, as a user would, after the summary is printed.
 */
const cli = path.resolve('dist/cli/main.js');

interface DriftBucket {
  start: string;
  count: number;
  columns: { column: string; role: string; drifted: boolean }[];
}

/** Command lines of the processes running now that mention `text` (a broker or engine left behind would). */
function processesMentioning(text: string): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.stdout.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

/**
 * Whether an `up` still holds `dir` (its lock file). With an external broker, `up` starts no process
 * a command line would show (the engine runs inside it), so this is what a next `up` would find.
 */
function dataDirLocked(dir: string): boolean {
  return existsSync(path.join(dir, 'modelwatch.pid'));
}

/** `modelwatch up …` with only `env` (and PATH, HOME) in its environment; its output collected as it comes. */
function startUp(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [cli, 'up', ...args], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')));
  return { child, out, exited };
}

/** `up` on a local broker of its own (no MODELWATCH_KAFKA_BROKERS), on `dataDir` and `port`. */
function localUpEnv(dataDir: string, port: number): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...isolatedEnv({ MODELWATCH_DATA_DIR: dataDir, MODELWATCH_API_PORT: String(port) }),
  };
  delete env['MODELWATCH_KAFKA_BROKERS'];
  delete env['MODELWATCH_CLICKHOUSE_DATABASE'];
  return env;
}

describe('modelwatch up fails to start', () => {
  it('with the API port taken after its local broker started: one line, exit 1 at once, the broker stopped', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void busy.close());
    const port = (busy.address() as { port: number }).port;
    const dataDir = tempDir('modelwatch-up-busy-');
    // No broker given: up starts its own, before the service.
    const { child, out, exited } = startUp(['--no-simulator'], localUpEnv(dataDir, port));

    // The broker is up once the banner names it.
    await waitFor(
      'the local broker started',
      () =>
        Promise.resolve(
          out.stdout.includes('(local broker)') ? true : child.exitCode === null ? undefined : false,
        ),
      150_000,
    );
    expect(out.stdout, out.stderr.slice(-2000)).toContain('(local broker)');
    const startedAt = Date.now();
    const code = await Promise.race([
      exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 30_000)),
    ]);
    expect(code, out.stderr.slice(-2000)).toBe(1);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    const errors = out.stderr.split('\n').filter((line) => line.startsWith('modelwatch: '));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/EADDRINUSE/);
    expect(processesMentioning(dataDir)).toEqual([]);
  }, 240_000);
});

describe('a second modelwatch up on a data dir in use', () => {
  it('exits 1 at once with one line naming the first one, which keeps running and stops quickly', async () => {
    const dataDir = tempDir('modelwatch-up-twice-');
    const firstEnv = localUpEnv(dataDir, await freePort());
    // The banner's generated-key line, which the story tests (a key always set) never see.
    delete firstEnv['MODELWATCH_ADMIN_KEY'];
    const first = startUp(['--no-simulator'], firstEnv);
    const health = `http://127.0.0.1:${firstEnv['MODELWATCH_API_PORT']}/healthz`;
    await waitFor(
      'the first up answering',
      async () => {
        if (first.child.exitCode !== null)
          throw new Error(`the first up exited: ${first.out.stderr.slice(-2000)}`);
        return (await fetch(health)).ok || undefined;
      },
      150_000,
    );
    expect(first.out.stdout).toContain('(local broker)');
    expect(first.out.stdout).toMatch(/\n {2}admin key {2}mw_[\w-]{32} {3}\(generated for this run; /);

    const second = startUp(['--no-simulator'], localUpEnv(dataDir, await freePort()));
    const code = await Promise.race([
      second.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
    ]);
    expect(code, second.out.stderr.slice(-2000)).toBe(1);
    expect(second.out.stderr).toBe(
      `modelwatch: another modelwatch (pid ${first.child.pid}) uses ${dataDir}\n`,
    );
    expect(second.out.stdout).toBe('');

    // The first one is untouched: it answers, and stops as fast as ever (its broker was not
    // disturbed: a broker that cannot stop cleanly is killed after 20 s).
    expect(first.child.exitCode).toBeNull();
    expect((await fetch(health)).ok).toBe(true);
    const signalled = Date.now();
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(processesMentioning(dataDir)).toEqual([]);
    expect(dataDirLocked(dataDir)).toBe(false);
  }, 240_000);
});

describe('modelwatch up on a data dir whose broker log dir a `modelwatch kafka --data-dir` uses', () => {
  it('exits 1 at once naming the kafka process, whose broker keeps running (regression: up started a second broker there, which killed the first)', async () => {
    const dataDir = tempDir('modelwatch-up-kafka-');
    const brokerDir = path.join(dataDir, 'kafka');
    const env = localUpEnv(dataDir, await freePort());
    const kafka = spawn(process.execPath, [cli, 'kafka', '--data-dir', brokerDir], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => void (kafka.exitCode === null && kafka.kill('SIGKILL')));
    let bootstrap = '';
    let kafkaErr = '';
    kafka.stdout.on('data', (chunk: Buffer) => (bootstrap += chunk.toString()));
    kafka.stderr.on('data', (chunk: Buffer) => (kafkaErr += chunk.toString()));
    const kafkaExited = new Promise<number | null>((resolve) => kafka.once('exit', resolve));
    await waitFor(
      'the kafka broker started',
      () => {
        if (kafka.exitCode !== null) throw new Error(`modelwatch kafka exited: ${kafkaErr.slice(-2000)}`);
        return Promise.resolve(/^127\.0\.0\.1:\d+$/m.test(bootstrap) || undefined);
      },
      150_000,
    );

    const up = startUp(['--no-simulator'], env);
    const code = await Promise.race([
      up.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
    ]);
    expect(code, up.out.stderr.slice(-2000)).toBe(1);
    expect(up.out.stderr).toBe(`modelwatch: another modelwatch (pid ${kafka.pid}) uses ${brokerDir}\n`);
    expect(dataDirLocked(dataDir)).toBe(false);

    // The broker is untouched: still running, and it stops cleanly.
    expect(kafka.exitCode, kafkaErr.slice(-2000)).toBeNull();
    kafka.kill('SIGTERM');
    expect(await kafkaExited).toBe(0);
    expect(processesMentioning(brokerDir)).toEqual([]);
  }, 240_000);
});

describe('modelwatch up tells the California story', () => {
  it('drift in the location columns only, a retrain trigger, the challenger in shadow, a verified audit; exits 0 on SIGINT', async () => {
    const port = await freePort();
    const dataDir = tempDir('modelwatch-up-');
    const env = isolatedEnv({
      MODELWATCH_DATA_DIR: dataDir,
      MODELWATCH_API_PORT: String(port),
      MODELWATCH_RETRAIN_INTERVAL_MS: '1000',
      MODELWATCH_LOG_LEVEL: 'info',
    });
    delete (env as Record<string, string | undefined>)['MODELWATCH_CLICKHOUSE_DATABASE'];
    const { child, out, exited } = startUp(['--speed', '7000000', '--seed', '7'], env);

    await waitFor(
      'the summary',
      () =>
        Promise.resolve(out.stdout.includes('\nOpen:') ? true : child.exitCode === null ? undefined : false),
      240_000,
    );
    expect(out.stdout, out.stderr.slice(-2000)).toContain(
      'the story is told (2020-10-01 to 2022-05-10, simulated)',
    );
    // Not a TTY: logs are JSON lines (with plain progress lines between them).
    const logLines = out.stderr.split('\n').filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    // The final progress line, at the story's end, is drawn before the summary (which comes last:
    // test/unit/simulator/simulator.test.ts checks the order); stderr gets it before stdout the summary.
    const progress = out.stderr.split('\n').filter((l) => l.startsWith('simulated '));
    expect(progress.at(-1)).toMatch(/^simulated 2022-05-10 · published [\d,]+ \(14,064 predictions\)/);
    // With the summary's own figures (it showed a read up to 2 s older: "triggers 5" above six).
    const ingested = /\n {2}ingested +([\d,]+) events/.exec(out.stdout)?.[1];
    const triggers = out.stdout.split('\n').filter((l) => l.startsWith('  trigger ')).length;
    expect(progress.at(-1)).toMatch(
      new RegExp(
        ` · ingested ${ingested} · drift (Latitude, Longitude|Longitude, Latitude) · triggers ${triggers}$`,
      ),
    );

    const base = `http://127.0.0.1:${port}/api/v1`;
    const get = async <T>(route: string): Promise<T> => {
      const response = await fetch(`${base}${route}`, {
        headers: { authorization: `Bearer ${env['MODELWATCH_ADMIN_KEY']}` },
      });
      expect(response.status, route).toBe(200);
      return (await response.json()) as T;
    };

    // Drift after the reference period: Latitude and Longitude in every month, nothing else ever.
    const drift = await get<{ buckets: DriftBucket[] }>(
      '/models/california/drift?from=2021-06-01&to=2022-05-10&bucket=month&version=1',
    );
    expect(drift.buckets.map((b) => b.start.slice(0, 7))).toEqual([
      '2021-06',
      '2021-07',
      '2021-08',
      '2021-09',
      '2021-10',
      '2021-11',
      '2021-12',
      '2022-01',
      '2022-02',
      '2022-03',
      '2022-04',
      '2022-05',
    ]);
    for (const b of drift.buckets) {
      const drifted = b.columns.filter((c) => c.role === 'feature' && c.drifted).map((c) => c.column);
      expect(drifted.sort(), b.start).toEqual(['Latitude', 'Longitude']);
      expect(
        b.columns
          .filter((c) => c.role === 'feature')
          .map((c) => c.column)
          .sort(),
      ).toEqual([...FEATURES].sort());
    }
    expect(out.stdout).toMatch(/drift +Latitude +from 2021-06, in 12 of 12 monthly windows/);
    expect(out.stdout).toMatch(/drift +Longitude +from 2021-06, in 12 of 12 monthly windows/);

    // Retrain triggers on the topic: the first drift trigger after two drifted months.
    const messages = await readTopic(env['MODELWATCH_TOPIC_RETRAIN']!);
    const reasons = messages.map((m) => [m.value['reason'], (m.value['window'] as { start: string }).start]);
    expect(reasons).toContainEqual(['drift', '2021-07-01T00:00:00.000Z']);
    expect(messages.every((m) => m.key === 'california' && m.value['model_id'] === 'california')).toBe(true);
    // None fired inside the reference period (Oct 2020 – May 2021).
    expect(reasons.every(([, start]) => String(start) >= '2021-06')).toBe(true);

    // The challenger scored every prediction in shadow.
    const shadow = await get<{
      challengers: { version: string; buckets: { scored: number; agreement: number }[] }[];
    }>('/models/california/shadow?from=2020-10-01&to=2022-06-01&bucket=month');
    expect(shadow.challengers.map((c) => c.version)).toEqual(['2']);
    expect(shadow.challengers[0]!.buckets.reduce((s, b) => s + b.scored, 0)).toBe(14_064);

    const audit = await get<{ ok: boolean; checked: number }>('/audit/verify');
    expect(audit.ok).toBe(true);
    expect(audit.checked).toBeGreaterThan(1_000);

    const metrics = await get<{ buckets: { count: number; roc_auc: number | null; labeled: number }[] }>(
      '/models/california/metrics?from=2020-10-01&to=2022-06-01&bucket=month',
    );
    expect(metrics.buckets).toHaveLength(20);
    expect(metrics.buckets.reduce((s, b) => s + b.count, 0)).toBe(14_064);
    expect(metrics.buckets.every((b) => b.roc_auc !== null && b.labeled > 0)).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(dataDirLocked(dataDir)).toBe(false);
  }, 300_000);
  it('Ctrl-C in the middle of the story prints the summary so far and exits 0', async () => {
    const port = await freePort();
    const dataDir = tempDir('modelwatch-up-');
    const env = isolatedEnv({
      MODELWATCH_DATA_DIR: dataDir,
      MODELWATCH_API_PORT: String(port),
      MODELWATCH_LOG_LEVEL: 'info',
    });
    delete (env as Record<string, string | undefined>)['MODELWATCH_CLICKHOUSE_DATABASE'];
    // Real time × 100,000: the reference period alone would take over 3 minutes.
    const { child, out, exited } = startUp(['--speed', '100000'], env);
    await waitFor(
      'predictions ingested',
      () =>
        Promise.resolve(
          /ingested [1-9][\d,]* ·/.test(out.stderr) ? true : child.exitCode === null ? undefined : false,
        ),
      120_000,
    );
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out.stdout).toMatch(
      /modelwatch: stopped at 2020-1\d-\d\d \(simulated\), before the end of the story/,
    );
    expect(out.stdout).toMatch(/ingested +[\d,]+ events: [1-9][\d,]* predictions/);
    // Stopped before the reference period ended: drift was not measured, which is no negative.
    expect(out.stdout).toContain('\n  drift       not measured yet (the reference period had not ended)\n');
    expect(out.stdout).not.toContain('no column drifted');
    expect(out.stdout).toContain('\nOpen:\n');
    expect(dataDirLocked(dataDir)).toBe(false);
  }, 200_000);
});
