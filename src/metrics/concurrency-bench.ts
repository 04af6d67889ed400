import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { Registry } from 'prom-client';
import { buildApp } from '../api/index.js';
import { KeyStore } from '../auth/index.js';
import { decimalOption, UsageError, type Bench, type BenchContext } from '../platform/cli/index.js';
import { ModelRegistry } from '../models/index.js';
import { migrate, openDatabase, type Database, type EmbeddedOptions } from '../platform/clickhouse/index.js';
import { ModelwatchError, UsageRequested } from '../platform/errors.js';
import { createLogger } from '../platform/observability/index.js';
import { insertData } from './bench.js';
import { metricsRoutes } from './routes.js';

interface Options {
  rows: number;
  labeled: number;
  concurrency: number;
  /** Sequential requests for the same-run baseline. */
  single: number;
  rounds: number;
  /** Which engine set-ups to measure. */
  modes: ('before' | 'after')[];
  engine: EmbeddedOptions;
}

const usage =
  'modelwatch bench metrics-api [--rows N] [--labeled 0..1] [--concurrency 1..1000] [--single N] [--rounds 1..10] [--only before|after] [--connections 1..64] [--max-threads 0..256]';

function parseOptions(args: string[]): Options {
  if (args.includes('--help') || args.includes('-h')) throw new UsageRequested(`usage: ${usage}`);
  const options: Options = {
    rows: 200_000,
    labeled: 0.3,
    concurrency: 200,
    single: 5,
    rounds: 1,
    modes: ['before', 'after'],
    engine: {},
  };
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    // NaN unless decimal digits: '', ' ' and '0x1' are refused, not read as 0 and 1.
    const n = decimalOption(value);
    const count = Number.isInteger(n) && n > 0;
    if (name === '--rows' && count) options.rows = n;
    else if (name === '--labeled' && n >= 0 && n <= 1) options.labeled = n;
    else if (name === '--concurrency' && count && n <= 1000) options.concurrency = n;
    else if (name === '--single' && count) options.single = n;
    else if (name === '--rounds' && count && n <= 10) options.rounds = n;
    else if (name === '--only' && (value === 'before' || value === 'after')) options.modes = [value];
    else if (name === '--connections' && count && n <= 64)
      options.engine = { ...options.engine, connections: n };
    else if (name === '--max-threads' && Number.isInteger(n) && n >= 0 && n <= 256)
      options.engine = { ...options.engine, maxThreads: n };
    else
      throw new UsageError(
        `bench metrics-api: bad option ${[name, value].join(' ').trim()}; usage: ${usage}`,
      );
  }
  return options;
}

interface Answer {
  ms: number;
  status: number;
}

/** One GET over loopback, body drained; the time is to the last byte. */
function get(agent: Agent, url: URL, key: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const ms = (n: number) => `${n.toFixed(0)} ms`;

/** Health probes every 50 ms while `during` runs: the worst answer time shows whether the event loop stalls. */
async function probeHealth(
  agent: Agent,
  base: string,
  key: string,
  during: Promise<unknown>,
): Promise<number[]> {
  const times: number[] = [];
  let done = false;
  void during.finally(() => (done = true));
  while (!done) {
    times.push((await get(agent, new URL('/healthz', base), key)).ms);
    await new Promise((r) => setTimeout(r, 50));
  }
  return times;
}

interface Figures {
  single: number;
  p50: number;
  p95: number;
  rate: number;
  healthMax: number;
  /** Longest event-loop stall during the burst, ms. */
  loopMax: number;
  /** Process CPU (JS and engine threads) per request in the burst: independent of other load. */
  cpu: number;
  load: string;
}

async function measure(base: string, key: string, options: Options): Promise<Figures> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency + 2 });
  const metrics = new URL('/api/v1/models/bench-model/metrics?from=2026-01-01&to=2026-02-01&bucket=1h', base);
  try {
    const warm = await get(agent, metrics, key);
    if (warm.status !== 200)
      throw new ModelwatchError(
        'BAD_REQUEST',
        `bench metrics-api: the metrics route answered ${warm.status}`,
      );
    const single: number[] = [];
    for (let i = 0; i < options.single; i++) single.push((await get(agent, metrics, key)).ms);
    single.sort((a, b) => a - b);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const loadBefore = loadavg()[0] ?? 0;
    const burst = Promise.all(Array.from({ length: options.concurrency }, () => get(agent, metrics, key)));
    const health = await probeHealth(new Agent({ keepAlive: true, maxSockets: 1 }), base, key, burst);
    const answers = await burst;
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    loop.disable();
    const times = answers.map((a) => a.ms).sort((a, b) => a - b);
    const statuses = new Map<number, number>();
    for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
    const figures = {
      single: percentile(single, 50),
      p50: percentile(times, 50),
      p95: percentile(times, 95),
      rate: (options.concurrency * 1000) / wall,
      healthMax: Math.max(...health),
      loopMax: loop.max / 1e6,
      cpu: (used.user + used.system) / 1000 / options.concurrency,
      load: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
    };
    process.stdout.write(
      `    baseline, one request alone (${options.single} sequential): p50 ${ms(figures.single)}, min ${ms(single[0] ?? NaN)}, max ${ms(single.at(-1) ?? NaN)}\n` +
        `    ${options.concurrency} concurrent: p50 ${ms(figures.p50)}, p95 ${ms(figures.p95)}, max ${ms(times.at(-1) ?? NaN)}; ` +
        `${figures.rate.toFixed(1)} requests/s (${(wall / 1000).toFixed(2)} s wall); statuses ${[...statuses].map(([s, n]) => `${s} ×${n}`).join(', ')}\n` +
        `    /healthz during the burst: ${health.length} probes, max ${ms(figures.healthMax)}; event loop stalled at most ${ms(figures.loopMax)}; ` +
        `process CPU ${ms(figures.cpu)} per request; machine load average ${figures.load} (${availableParallelism()} cores)\n`,
    );
    return figures;
  } finally {
    agent.destroy();
  }
}

/**
 * The engine as it was opened before the pool: one chdb connection straight under the client,
 * parameters bound by chdb (one process-wide chain). On the same data directory, so both are
 * measured in one run, under the same machine load.
 */
async function singleConnection(
  db: Database,
  dataDir: string,
): Promise<{ db: Database; close: () => Promise<void> }> {
  const client = createClient({
    connection: createChdbConnection({ path: path.join(dataDir, 'clickhouse') }) as unknown as NonNullable<
      Parameters<typeof createClient>[0]
    >['connection'],
    log: { level: ClickHouseLogLevel.OFF },
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  await client.command({ query: `USE ${db.name}` });
  return { db: { ...db, client }, close: () => client.close() };
}

async function measureThrough(db: Database, options: Options): Promise<Figures> {
  const adminKey = 'bench-admin-key';
  const app = await buildApp({
    logger: createLogger('warn'),
    keys: new KeyStore(db, adminKey),
    registry: new Registry(),
    readiness: { checks: () => Promise.resolve({}) },
    metricsPublic: false,
    routes: [metricsRoutes({ db, models: new ModelRegistry(db) })],
  });
  try {
    return await measure(await app.listen({ host: '127.0.0.1', port: 0 }), adminKey, options);
  } finally {
    await app.close();
  }
}

async function run(args: string[], { migrations }: BenchContext): Promise<void> {
  const options = parseOptions(args);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'modelwatch-bench-metrics-api-'));
  const db = await openDatabase(
    { url: undefined, cluster: undefined, database: 'bench_metrics_api', dataDir },
    options.engine,
  );
  try {
    await migrate(db, migrations);
    process.stdout.write(
      `bench metrics-api: ${options.rows.toLocaleString('en')} predictions of one binary model over January 2026, ` +
        `${options.labeled * 100}% labeled; GET /api/v1/models/bench-model/metrics (month, 1h buckets) over loopback ` +
        `(embedded engine in ${dataDir})\n`,
    );
    await insertData(db, { rows: options.rows, labeled: options.labeled });
    const legacy = await singleConnection(db, dataDir);
    const modes = [
      { key: 'before', name: 'one connection, chdb parameter binding (before)', db: legacy.db },
      { key: 'after', name: `engine pool ${JSON.stringify(options.engine)} (after)`, db },
    ].filter((m) => options.modes.includes(m.key as 'before' | 'after'));
    const results: { name: string; figures: Figures }[] = [];
    try {
      for (let round = 1; round <= options.rounds; round++) {
        for (const mode of modes) {
          process.stdout.write(`  round ${round}, ${mode.name}:\n`);
          results.push({ name: mode.name, figures: await measureThrough(mode.db, options) });
        }
      }
    } finally {
      await legacy.close();
    }
    process.stdout.write(`  summary (${options.concurrency} concurrent; same run, same data):\n`);
    for (const { name, figures: f } of results) {
      process.stdout.write(
        `    ${name.padEnd(60)} alone ${ms(f.single).padStart(7)}  p50 ${ms(f.p50).padStart(8)}  p95 ${ms(f.p95).padStart(8)}  ${f.rate.toFixed(1).padStart(6)} req/s  healthz max ${ms(f.healthMax)}  CPU/request ${ms(f.cpu)}  load ${f.load}\n`,
      );
    }
  } finally {
    await db.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const metricsApiBench: Bench = { run };
