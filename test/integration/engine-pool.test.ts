import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/index.js';
import { KeyStore } from '../../src/auth/index.js';
import { metricsRoutes } from '../../src/metrics/routes.js';
import { allMigrations } from '../support/migrations.js';
import { ModelRegistry } from '../../src/models/index.js';
import {
  EngineBusyError,
  migrate,
  openDatabase,
  type Database,
  type EmbeddedOptions,
} from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { isModelwatchError } from '../../src/platform/errors.js';

/**
 * The embedded engine's connection pool on a real chdb engine: statements run in parallel up to
 * the pool size, parameters stay with their own statement, pings overtake queued reads, a full
 * read queue answers 503 + Retry-After through the real app, writes always wait.
 */

let dataDir: string;
let db: Database;
const opened: Database[] = [];

// One engine per process and one data directory per engine: every handle opens the same one.
async function open(options: EmbeddedOptions): Promise<Database> {
  const handle = await openDatabase(
    { url: undefined, cluster: undefined, database: 'pool_test', dataDir },
    options,
  );
  opened.push(handle);
  return handle;
}

async function rows<T>(handle: Database, query: string, params?: Record<string, unknown>): Promise<T[]> {
  const result = await handle.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

const sleepQuery = 'SELECT sleep({s:Float64}) AS slept, {tag:String} AS tag';

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-pool-'));
  db = await open({ connections: 3 });
  await migrate(db, allMigrations);
});

afterAll(async () => {
  for (const handle of opened.reverse()) await handle.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('engine pool (embedded engine)', () => {
  it('runs parameterized statements in parallel, as many at a time as it has connections', async () => {
    // Each statement reports when the engine started it (now64 is fixed at a statement's start),
    // so the check counts overlaps instead of timing the batch: a neighbouring test file's load
    // can slow the batch but cannot make four statements overlap on three connections.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        rows<{ tag: string; started: string }>(
          db,
          'SELECT toUnixTimestamp64Micro(now64(6)) AS started, sleep({s:Float64}) AS slept, {tag:String} AS tag',
          { s: 0.4, tag: `q${i}` },
        ),
      ),
    );
    expect(answers.map(([row]) => row?.tag)).toEqual(['q0', 'q1', 'q2', 'q3', 'q4', 'q5']);
    const starts = answers.map(([row]) => Number(row?.started) / 1000).sort((a, b) => a - b);
    // A statement sleeps 400 ms from its start: the most running at once, seen at each start.
    const mostAtOnce = Math.max(...starts.map((s) => starts.filter((t) => t <= s && s < t + 400).length));
    expect(
      mostAtOnce,
      `starts (ms after the first): ${starts.map((s) => Math.round(s - (starts[0] ?? 0))).join(', ')}`,
    ).toBe(3);
  });

  it('keeps each statement’s parameters its own under 200 concurrent statements', async () => {
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        rows<{ n: number; s: string; a: string[] }>(
          db,
          'SELECT {n:UInt32} AS n, {s:String} AS s, {a:Array(String)} AS a',
          {
            n: i,
            s: `v'\\\t${i}`,
            a: [`${i}`, "'"],
          },
        ),
      ),
    );
    answers.forEach(([row], i) => expect(row).toEqual({ n: i, s: `v'\\\t${i}`, a: [`${i}`, "'"] }));
  });

  it('returns every hostile parameter value exactly as given (quotes, backslashes, NUL, control characters, non-BMP)', async () => {
    const char = fc.oneof(
      fc.constantFrom("'", '\\', '\0', '\n', '\r', '\t', '{', '}', ';', '"', '`', '\u2028'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: char, maxLength: 40 }),
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0)),
        fc.array(fc.string({ unit: char, maxLength: 8 }), { maxLength: 5 }),
        async (s, i, f, a) => {
          const [row] = await rows(
            db,
            'SELECT {s:String} AS s, {i:Int64} AS i, {f:Float64} AS f, {a:Array(String)} AS a',
            { s, i, f, a },
          );
          expect(row).toEqual({ s, i, f, a });
        },
      ),
      { numRuns: 150 },
    );
  });

  it('runs every statement in the service database, whichever connection takes it', async () => {
    await db.client.command({
      query: 'CREATE TABLE IF NOT EXISTS pool_probe (n UInt8) ENGINE = MergeTree ORDER BY n',
    });
    await db.client.command({ query: 'INSERT INTO pool_probe VALUES (7)' });
    const answers = await Promise.all(
      Array.from({ length: 9 }, () =>
        rows<{ n: number; db: string }>(db, 'SELECT n, currentDatabase() AS db FROM pool_probe'),
      ),
    );
    for (const answer of answers) expect(answer).toEqual([{ n: 7, db: 'pool_test' }]);
  });

  it('refuses a placeholder without a value instead of reading the one an earlier statement left in the session', async () => {
    await rows(db, 'SELECT {left:String} AS v', { left: 'stale' });
    const err = await rows(db, 'SELECT {left:String} AS v').catch((e: unknown) => e);
    expect(isModelwatchError(err, 'CLICKHOUSE_QUERY')).toBe(true);
  });

  it('answers a ping before reads queued earlier', async () => {
    const single = await open({ connections: 1 });
    const order: string[] = [];
    const running = rows(single, sleepQuery, { s: 0.5, tag: 'running' }).then(() => order.push('running'));
    await new Promise((r) => setTimeout(r, 50));
    const queued = [1, 2, 3].map((i) =>
      rows(single, sleepQuery, { s: 0.2, tag: `q${i}` }).then(() => order.push(`queued ${i}`)),
    );
    const ping = single.client.ping().then((result) => {
      order.push('ping');
      return result;
    });
    expect((await ping).success).toBe(true);
    await Promise.all([running, ...queued]);
    expect(order).toEqual(['running', 'ping', 'queued 1', 'queued 2', 'queued 3']);
  });

  it('refuses reads beyond the bound with 503 + Retry-After through the app, while writes still wait and land', async () => {
    const bounded = await open({ connections: 1, maxQueuedReads: 1 });
    const app = await buildApp({
      logger: createLogger('silent'),
      keys: new KeyStore(bounded, 'pool-test-admin'),
      registry: new Registry(),
      readiness: { checks: () => Promise.resolve({}) },
      metricsPublic: false,
      routes: [metricsRoutes({ db: bounded, models: new ModelRegistry(bounded) })],
    });
    await app.ready();
    const running = rows(bounded, sleepQuery, { s: 1, tag: 'running' });
    await new Promise((r) => setTimeout(r, 50));
    const queued = rows(bounded, sleepQuery, { s: 0, tag: 'queued' });
    try {
      const refused = await rows(bounded, 'SELECT 1 AS one').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(EngineBusyError);
      expect((refused as EngineBusyError).retryable).toBe(true);
      const answer = await app.inject({
        url: '/api/v1/models/m/metrics',
        headers: { authorization: 'Bearer pool-test-admin' },
      });
      expect(answer.statusCode).toBe(503);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(answer.json()).toMatchObject({ statusCode: 503 });
      const health = await app.inject({ url: '/healthz' });
      expect(health.statusCode).toBe(200);
    } finally {
      await app.close();
    }

    const write = bounded.client.command({ query: 'INSERT INTO pool_probe VALUES (8)' });
    expect(await Promise.all([running, queued])).toEqual([
      [{ slept: 0, tag: 'running' }],
      [{ slept: 0, tag: 'queued' }],
    ]);
    await write;
    expect(await rows(bounded, 'SELECT count() AS c FROM pool_probe WHERE n = 8')).toEqual([{ c: 1 }]);
  });

  it('on close lets the running statement finish and refuses the queued ones', async () => {
    const closing = await openDatabase(
      { url: undefined, cluster: undefined, database: 'pool_test', dataDir },
      { connections: 1 },
    );
    const running = rows(closing, sleepQuery, { s: 0.3, tag: 'running' });
    await new Promise((r) => setTimeout(r, 50));
    const queued = rows(closing, sleepQuery, { s: 0, tag: 'queued' }).catch((e: unknown) => e);
    await closing.close();
    expect(await running).toEqual([{ slept: 0, tag: 'running' }]);
    expect(isModelwatchError(await queued, 'CLICKHOUSE_UNAVAILABLE')).toBe(true);
  });
});
