import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import {
  cleanUpOnSignal,
  decimalOption,
  scratchDir,
  UsageError,
  type Bench,
  type BenchContext,
} from '../platform/cli/index.js';
import { migrate, openDatabase, type Database } from '../platform/clickhouse/index.js';
import { ModelwatchError, UsageRequested } from '../platform/errors.js';
import {
  formatMetricsBenchTable,
  rssPeak,
  type MetricsBenchPhase,
  type MetricsBenchReport,
} from './bench-report.js';
import { sweepWaitingLabels } from './label-sweep.js';
import { computeModelMetrics, type ModelMetrics } from './model-metrics.js';

const MODEL = 'bench-model';
const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2026, 1, 1);
const CHUNK = 1_000_000;

interface Options {
  rows: number;
  labeled: number;
  warm: number;
  /** Also time the raw path (the read-time join) once per phase. */
  raw: boolean;
  /** Also measure after OPTIMIZE FINAL. @default true */
  optimize: boolean;
  /** Keep the data here and reuse it on the next run (when it holds `rows` predictions). @default a temporary directory, removed */
  dataDir: string | undefined;
}

const usage =
  'modelwatch bench metrics [--rows N] [--labeled 0..1] [--warm N] [--raw 0|1] [--optimize 0|1] [--data-dir DIR]';

export function parseOptions(args: string[]): Options {
  if (args.includes('--help') || args.includes('-h')) throw new UsageRequested(`usage: ${usage}`);
  const options: Options = {
    rows: 10_000_000,
    labeled: 0.3,
    warm: 3,
    raw: false,
    optimize: true,
    dataDir: undefined,
  };
  for (let i = 0; i < args.length; i += 2) {
    const [name, value] = [args[i], args[i + 1]];
    // NaN unless decimal digits: '', ' ' and '0x1' are refused, not read as 0 and 1.
    const n = decimalOption(value);
    if (name === '--data-dir' && value !== undefined && value.length > 0 && value.length < 4096)
      options.dataDir = path.resolve(value);
    else if (name === '--optimize' && (n === 0 || n === 1)) options.optimize = n === 1;
    else if (name === '--rows' && Number.isInteger(n) && n > 0) options.rows = n;
    else if (name === '--labeled' && n >= 0 && n <= 1) options.labeled = n;
    else if (name === '--warm' && Number.isInteger(n) && n >= 0) options.warm = n;
    else if (name === '--raw' && (n === 0 || n === 1)) options.raw = n === 1;
    else throw new UsageError(`bench metrics: bad option ${[name, value].join(' ').trim()}; usage: ${usage}`);
  }
  return options;
}

const uniform = (salt: number) => `(cityHash64(number, ${salt}) / 18446744073709551616.0)`;

/**
 * One binary model over January 2026: 10 numeric and 2 string features, scores on a 0.001 grid
 * (so ROC AUC meets ties), 1% errors, labels for a fraction of predictions arriving a day later.
 */
export async function insertData(db: Database, options: Pick<Options, 'rows' | 'labeled'>): Promise<void> {
  for (let offset = 0; offset < options.rows; offset += CHUNK) {
    const count = Math.min(CHUNK, options.rows - offset);
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str,
                prediction, prediction_num, score, probabilities, latency_ms, is_error, entity_id, request_id)
              SELECT {model:String}, '1', concat('p-', toString(number)),
                fromUnixTimestamp64Milli(toInt64({from:Int64} + intDiv(number * ({to:Int64} - {from:Int64}), {rows:UInt64})), 'UTC') AS ts,
                map('f0', ${uniform(10)}, 'f1', ${uniform(11)} * 100, 'f2', ${uniform(12)} * 1e4, 'f3', round(${uniform(13)} * 50),
                    'f4', ${uniform(14)}, 'f5', ${uniform(15)}, 'f6', ${uniform(16)}, 'f7', ${uniform(17)}, 'f8', ${uniform(18)}, 'f9', ${uniform(19)}),
                map('region', ['north', 'south', 'east', 'west'][1 + number % 4], 'segment', concat('s', toString(number % 20))),
                if(score >= 0.5, '1', '0') AS pred, toFloat64(score >= 0.5), round(${uniform(1)}, 3) AS score, map(),
                5 + 200 * pow(${uniform(2)}, 4), ${uniform(3)} < 0.01, concat('c-', toString(number % 100000)), ''
              FROM numbers({offset:UInt64}, {count:UInt64})`,
      query_params: { model: MODEL, from: FROM, to: TO, rows: options.rows, offset, count },
    });
    // Labels follow the score (a fair model), for the chosen share of predictions.
    await db.client.command({
      query: `INSERT INTO labels (prediction_id, model_id, label, label_num, timestamp)
              SELECT concat('p-', toString(number)), {model:String}, toString(y), y,
                fromUnixTimestamp64Milli(toInt64({from:Int64} + 86400000 + intDiv(number * ({to:Int64} - {from:Int64}), {rows:UInt64})), 'UTC')
              FROM (SELECT number, toUInt8(${uniform(4)} < round(${uniform(1)}, 3)) AS y FROM numbers({offset:UInt64}, {count:UInt64}))
              WHERE ${uniform(5)} < {labeled:Float64}`,
      query_params: {
        model: MODEL,
        from: FROM,
        to: TO,
        rows: options.rows,
        offset,
        count,
        labeled: options.labeled,
      },
    });
    // Progress on stderr: stdout holds the report (`bench metrics > report.txt`).
    process.stderr.write(`  inserted ${(offset + count).toLocaleString('en')} predictions\n`);
  }
  await db.client.command({
    query: `INSERT INTO model_versions (model_id, model_version, task, task_source, first_seen, revision)
            VALUES ({model:String}, '1', 'binary_classification', 'declared', fromUnixTimestamp64Milli({from:Int64}, 'UTC'), 1)`,
    query_params: { model: MODEL, from: FROM },
  });
}

/** Wall and CPU milliseconds of one run (CPU of the whole process: the engine runs in it). */
async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; cpu: number; value: T }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - started, cpu: (used.user + used.system) / 1000, value };
}

async function storage(
  db: Database,
): Promise<{ table: string; rows: number; bytes: number; parts: number }[]> {
  const result = await db.client.query({
    query: `SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, count() AS parts FROM system.parts
            WHERE database = {db:String} AND active AND table IN ('predictions', 'labels', 'labeled_predictions', 'prediction_lookup') GROUP BY table ORDER BY table DESC`,
    query_params: { db: db.name },
    format: 'JSONEachRow',
  });
  return result.json();
}

const MS = (t: { ms: number; cpu: number }) => ({ ms: Math.round(t.ms), cpu_ms: Math.round(t.cpu) });

/** The route with and without the cache must answer alike; a bench that measured a wrong answer would mislead. */
function assertSame(cached: ModelMetrics, uncached: ModelMetrics, what: string): void {
  if (JSON.stringify(cached) !== JSON.stringify(uncached))
    throw new ModelwatchError(
      'CLICKHOUSE_QUERY',
      `bench metrics: the cached route answered differently (${what})`,
    );
}

/** A label for a prediction in the middle of the month, stored now: a late label (or a correction). */
async function storeLateLabel(db: Database, options: Options): Promise<void> {
  await db.client.command({
    query: `INSERT INTO labels (prediction_id, model_id, label, label_num, timestamp)
            VALUES ({id:String}, {model:String}, '1', 1, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
    query_params: { id: `p-${Math.floor(options.rows / 2)}`, model: MODEL, at: TO + 40 * 86_400_000 },
  });
}

async function measure(db: Database, options: Options, label: string): Promise<MetricsBenchPhase> {
  const request = {
    model: MODEL,
    versions: [{ model_version: '1', task: 'binary_classification' as const, positive_class: '1' }],
    bucket: '1h' as const,
    from: FROM,
    to: TO,
  };
  const uncachedRequest = { ...request, cache: false };
  // Baseline: the serving half alone (no labels, no join), the same scan and buckets.
  const baseline = await timed(async () => {
    const result = await db.client.query({
      query: `SELECT toStartOfHour(timestamp) AS hour, count(), countIf(is_error), quantilesExactInclusive(0.5, 0.95, 0.99)(latency_ms), max(latency_ms)
              FROM predictions FINAL WHERE model_id = {model:String}
                AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
              GROUP BY hour`,
      query_params: { model: MODEL, from: FROM, to: TO },
      format: 'JSONEachRow',
    });
    return result.json();
  });
  // The first read after a bulk load sweeps its labels (it cannot tell a load from a race): timed apart.
  const sweep = await timed(() => sweepWaitingLabels(db));
  await db.client.command({ query: 'TRUNCATE TABLE metrics_bucket_cache' });
  const uncachedCold = await timed(() => computeModelMetrics(db, uncachedRequest));
  const first = await timed(() => computeModelMetrics(db, request));
  assertSame(first.value, uncachedCold.value, 'cold');
  // Interleaved, so a change of load hits both alike.
  const warmRuns: { ms: number; cpu: number }[] = [];
  const uncachedWarm: { ms: number; cpu: number }[] = [];
  for (let i = 0; i < options.warm; i++) {
    const warm = await timed(() => computeModelMetrics(db, request));
    const uncached = await timed(() => computeModelMetrics(db, uncachedRequest));
    assertSame(warm.value, uncached.value, 'warm');
    warmRuns.push(warm);
    uncachedWarm.push(uncached);
  }
  await storeLateLabel(db, options);
  let computed = 0;
  const late = await timed(() =>
    computeModelMetrics(db, { ...request, onCache: (s) => (computed = s.computed) }),
  );
  assertSame(late.value, await computeModelMetrics(db, uncachedRequest), 'after a late label');
  const raw = options.raw
    ? await timed(() => computeModelMetrics(db, { ...request, path: 'raw' }))
    : undefined;
  const buckets = first.value.buckets;
  const counted = buckets.reduce((sum, b) => sum + b.count, 0);
  const labeled = buckets.reduce((sum, b) => sum + b.labeled, 0);
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    `${label}:\n` +
      `  baseline: serving metrics alone (predictions FINAL, 1h buckets, no labels)  ${fmt(baseline.ms)}\n` +
      `  metrics route query, month in 1h buckets (${buckets.length} buckets, ${counted.toLocaleString('en')} predictions, ${labeled.toLocaleString('en')} labeled)\n` +
      `    cold (cache empty) ${fmt(first.ms)}; warm runs ${warmRuns.map((r) => fmt(r.ms)).join(', ') || '(none)'}\n` +
      `    without the cache: ${[uncachedCold, ...uncachedWarm].map((r) => fmt(r.ms)).join(', ')}\n` +
      (raw ? `  raw path (read-time join): ${fmt(raw.ms)}\n` : ''),
  );
  return {
    phase: label,
    baseline_ms: Math.round(baseline.ms),
    cold_ms: Math.round(first.ms),
    warm_ms: warmRuns.map((r) => Math.round(r.ms)),
    buckets: buckets.length,
    predictions: counted,
    labeled,
    cpu: {
      baseline_ms: Math.round(baseline.cpu),
      cold_ms: Math.round(first.cpu),
      warm_ms: warmRuns.map((r) => Math.round(r.cpu)),
      ...(raw ? { raw_ms: Math.round(raw.cpu) } : {}),
    },
    ...(raw ? { raw_ms: Math.round(raw.ms) } : {}),
    sweep: MS(sweep),
    uncached: { cold: MS(uncachedCold), warm: uncachedWarm.map(MS) },
    late_label: { ...MS(late), computed_buckets: computed },
  };
}

async function storedPredictions(db: Database): Promise<number> {
  const result = await db.client.query({
    query: 'SELECT count() AS n FROM predictions WHERE model_id = {model:String}',
    query_params: { model: MODEL },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number }>();
  return Number(row?.n ?? 0);
}

const loadAverage = () => loadavg().map((l) => Math.round(l * 100) / 100);

/** `--data-dir`, kept; else a scratch dir, removed afterwards and on Ctrl-C (GBs at full size). */
async function benchDataDir(given: string | undefined): Promise<{ path: string; remove(): Promise<void> }> {
  if (given === undefined) return scratchDir('modelwatch-bench-metrics-');
  await mkdir(given, { recursive: true });
  return { path: given, remove: () => Promise.resolve() };
}

async function run(args: string[], { migrations }: BenchContext): Promise<void> {
  const options = parseOptions(args);
  const rss = rssPeak();
  const startLoad = loadAverage();
  const dir = await benchDataDir(options.dataDir);
  const dataDir = dir.path;
  const db = await openDatabase({ url: undefined, cluster: undefined, database: 'bench_metrics', dataDir });
  // Closed before the dir goes: a running insert would write its parts there again.
  const releaseDb = cleanUpOnSignal(() => db.close());
  try {
    const migrated = await timed(() => migrate(db, migrations));
    process.stdout.write(
      `bench metrics: ${options.rows.toLocaleString('en')} predictions of one binary model over January 2026, ${options.labeled * 100}% labeled (embedded engine in ${dataDir}; migrations ${(migrated.ms / 1000).toFixed(1)} s)\n`,
    );
    const stored = await storedPredictions(db);
    if (stored === 0) {
      const inserted = await timed(() => insertData(db, options));
      process.stdout.write(`  insert: ${(inserted.ms / 1000).toFixed(1)} s\n`);
    } else if (stored < options.rows)
      throw new ModelwatchError(
        'BAD_REQUEST',
        `--data-dir: ${dataDir} holds ${stored} predictions, not ${options.rows}`,
      );
    else
      process.stderr.write(`  reusing the ${stored.toLocaleString('en')} predictions stored in ${dataDir}\n`);
    for (const s of await storage(db)) {
      process.stdout.write(
        `  storage ${s.table}: ${s.rows.toLocaleString('en')} rows in ${s.parts} parts, ${(s.bytes / 1e6).toFixed(1)} MB, ` +
          `${(s.bytes / s.rows).toFixed(1)} MB per million rows (${(s.bytes / s.rows).toFixed(0)} B/row)\n`,
      );
    }
    const phases = [
      await measure(db, options, stored === 0 ? 'as inserted (parts not yet merged)' : 'as stored'),
    ];
    if (options.optimize) {
      const merged = await timed(async () => {
        await db.client.command({ query: 'OPTIMIZE TABLE predictions FINAL' });
        await db.client.command({ query: 'OPTIMIZE TABLE labels FINAL' });
        await db.client.command({ query: 'OPTIMIZE TABLE labeled_predictions FINAL' });
      });
      process.stdout.write(`  OPTIMIZE … FINAL: ${(merged.ms / 1000).toFixed(1)} s\n`);
      phases.push(await measure(db, options, 'after OPTIMIZE FINAL (one part per partition)'));
    }
    const report: MetricsBenchReport = {
      rows: options.rows,
      labeled_share: options.labeled,
      phases,
      peak_rss_bytes: rss.peak(),
      load_average: { start: startLoad, end: loadAverage() },
    };
    process.stdout.write(`\n${formatMetricsBenchTable(report)}${JSON.stringify(report)}\n`);
  } finally {
    rss.stop();
    releaseDb();
    await db.close();
    await dir.remove();
  }
}

export const metricsBench: Bench = { run };
