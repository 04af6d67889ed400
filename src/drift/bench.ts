/**
 * `modelwatch bench drift`: one drift window of N numerical features, R reference rows against R
 * current rows, on the embedded engine in a temporary directory. Reports, as a table and as JSON:
 * the service path (setting the reference; seconds per window for each method, split into reading
 * the window and computing the statistics) beside a same-run baseline (a plain scan of the
 * window's values), and the offline path (`modelwatch drift` on the same rows written to CSV and
 * Parquet files) beside its baseline (a plain parse of the files). Wall and CPU seconds, peak RSS.
 */
import {
  cleanUpOnSignal,
  parseOptions,
  positiveWholeOption,
  scratchDir,
  type Bench,
} from '../platform/cli/index.js';
import { ModelRegistry } from '../models/index.js';
import { migrate, openDatabase, type Database } from '../platform/clickhouse/index.js';
import { loadConfig } from '../platform/config/index.js';
import { createLogger } from '../platform/observability/index.js';
import { evaluateWindow, evaluateWindowOn, planColumns } from './engine/evaluate.js';
import { driftSettings } from './engine/settings.js';
import type { WindowColumn, WindowSample } from './engine/types.js';
import { DriftService } from './service/drift-service.js';
import { PolicyStore } from './store/policies.js';
import { readWindows } from './store/windows.js';
import { WalkPool } from './walks/walk-pool.js';
import type { MethodOption } from './statistics/index.js';
import {
  benchOffline,
  fmt,
  fmtWithFaults,
  seconds,
  type OfflineTimings,
  type Timing,
} from './bench-files.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const METHODS: MethodOption[] = ['auto', 'ks', 'wasserstein', 'psi', 'jensenshannon'];
const BINNED: ReadonlySet<MethodOption> = new Set(['psi', 'jensenshannon']);

/**
 * The window as the route reads it for PSI and JS: values in no particular order, whose bins are
 * counted value by value (sorted values would be counted with a search per edge, which the route
 * never does). Sorted values are one such order, and give the same counts.
 */
function unsortedValues(sample: WindowSample): WindowSample {
  const columns = new Map<string, WindowColumn>();
  for (const [key, column] of sample.columns)
    columns.set(key, column.sorted ? { values: column.sorted } : column);
  return { ...sample, columns };
}

const usage =
  'modelwatch bench drift [--rows 1000000] [--features 100] [--files DIR (keep the CSV/Parquet files, e.g. for bench/evidently)] [--no-offline]';

const positive = (value: string | undefined, fallback: number, name: string) =>
  positiveWholeOption(name, value, fallback, usage);

/**
 * Rows generated inside the engine, deterministic (hash-seeded Box-Muller normals). Every tenth
 * feature of the current day is shifted by 0.3 standard deviations, so some columns drift.
 */
async function generate(
  db: Database,
  rows: number,
  features: number,
  day: number,
  log: (m: string) => void,
): Promise<void> {
  const chunk = 250_000;
  for (let offset = 0; offset < rows; offset += chunk) {
    const n = Math.min(chunk, rows - offset);
    log(`generating ${day === 0 ? 'reference' : 'current'} rows ${offset + n}/${rows}`);
    await db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str, prediction, prediction_num, score, probabilities, latency_ms, is_error, entity_id, request_id)
        SELECT 'bench', '1', concat('p', toString(${day} * 1000000000 + number)),
          fromUnixTimestamp64Milli(toInt64(${T0 + day * DAY} + intDiv(number * ${DAY}, ${rows})), 'UTC'),
          mapFromArrays(arrayMap(i -> concat('f', toString(i)), range(${features})),
            arrayMap(i -> sqrt(-2 * log((cityHash64(${day}, number, i, 1) % 1000000 + 0.5) / 1000000))
                          * cos(2 * pi() * (cityHash64(${day}, number, i, 2) % 1000000) / 1000000)
                          + if(${day} = 1 AND i % 10 = 0, 0.3, 0), range(${features}))),
          map(), toString(number % 7), number % 7, NULL, map(), NULL, false, '', ''
        FROM numbers(${offset}, ${n})`,
    });
  }
}

/**
 * Waits until the engine's background merges are done. The generated rows arrive as 8 inserts a
 * day; merging them took ~4 CPU s at 100 features × 2M rows, which otherwise landed inside the
 * next timing (setting the reference), counted in its CPU and competing for its cores.
 */
async function settle(db: Database): Promise<void> {
  // A merge is scheduled a little after the insert that calls for it: quiet for 2 s in a row.
  for (let quiet = 0; quiet < 10;) {
    const result = await db.client.query({
      query: 'SELECT count() AS n FROM system.merges',
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number }>();
    quiet = Number(row?.n ?? 0) === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export const driftBench: Bench = {
  async run(args, { migrations }) {
    const { values } = parseOptions(
      args,
      {
        rows: { type: 'string' },
        features: { type: 'string' },
        files: { type: 'string' },
        'no-offline': { type: 'boolean' },
      },
      usage,
    );
    const rows = positive(values.rows, 1_000_000, 'rows');
    const features = positive(values.features, 100, 'features');
    const log = (m: string) => process.stderr.write(`${m}\n`);
    // Removed on Ctrl-C too: GBs of engine data and files at full size.
    const scratch = await scratchDir('modelwatch-bench-drift-');
    const dir = scratch.path;
    const config = loadConfig({ MODELWATCH_DATA_DIR: dir, MODELWATCH_CLICKHOUSE_DATABASE: 'bench_drift' });
    const db = await openDatabase(config.clickhouse);
    // Closed before the dir goes: a running insert would write its parts there again.
    const releaseDb = cleanUpOnSignal(() => db.close());
    const walks = WalkPool.create();
    try {
      await migrate(db, migrations);
      const models = new ModelRegistry(db);
      await models.registerSeen([{ modelId: 'bench', version: '1', task: 'regression', firstSeen: T0 }]);
      await generate(db, rows, features, 0, log);
      await generate(db, rows, features, 1, log);
      log('waiting for the background merges of the generated rows');
      const [, settleSeconds] = await seconds(() => settle(db));
      const deps = {
        db,
        models,
        policies: new PolicyStore(db),
        logger: createLogger('warn', 'bench'),
        cachedReferences: 1,
        walks,
      };
      const key = { modelId: 'bench', version: '1' };
      log('setting the reference from the first day');
      const [, referenceSeconds] = await seconds(() =>
        new DriftService(deps).setReference(key, { from: T0, to: T0 + DAY }, 'bench'),
      );
      // The windows are measured as a service started after the reference was set answers them:
      // with the reference read back from the engine (then cached), not the one setting it left.
      log('reading the stored reference, as a restarted service does');
      const service = new DriftService(deps);
      const [reference, storedSeconds] = await seconds(async () => (await service.reference(key))!);
      const window = { from: T0 + DAY, to: T0 + 2 * DAY };

      log('baseline: scanning the window');
      const [, scanSeconds] = await seconds(async () => {
        const result = await db.client.query({
          query: `SELECT count(), sum(arraySum(mapValues(features_num))) FROM predictions FINAL
                  WHERE model_id = 'bench' AND timestamp >= fromUnixTimestamp64Milli(${window.from}, 'UTC') AND timestamp < fromUnixTimestamp64Milli(${window.to}, 'UTC')`,
          format: 'JSONEachRow',
        });
        return result.json();
      });

      const settings = driftSettings();
      const plans = planColumns(reference, settings);
      log('reading the window (sorted samples of every column)');
      const [sample, readSeconds] = await seconds(async () => {
        let found: WindowSample | undefined;
        for await (const s of readWindows(db, { key, ...window, window: undefined, plans })) found = s;
        return found!;
      });

      const lines = [
        `drift bench: ${features} numerical features, ${rows} reference rows, ${rows} current rows (embedded ClickHouse, ${dir})`,
        `wall seconds (cpu seconds of engine + JavaScript, 2 cores; for the service path's steps also the kernel's part of the cpu and the process's page faults)`,
        `service path (after ${settleSeconds.wall.toFixed(1)} s of waiting for the engine's merges of the generated rows)`,
        `  set reference (copy, sort, load, summarize)      ${fmtWithFaults(referenceSeconds)}`,
        `  read the stored reference (after a restart)      ${fmtWithFaults(storedSeconds)}`,
        `  baseline: scan of the window's values (FINAL)    ${fmtWithFaults(scanSeconds)}`,
        `  read the window (SQL sort + Native transfer)     ${fmtWithFaults(readSeconds)}`,
        '',
        `  ${'method'.padEnd(20)}${'statistics only'.padEnd(28)}${'statistics, worker threads'.padEnd(28)}${'end-to-end per window'.padEnd(28)}drifted features`,
      ];
      const perMethod: {
        method: string;
        statistics: Timing;
        statisticsOnWorkers: Timing;
        endToEnd: Timing;
        drifted: number;
      }[] = [];
      for (const method of METHODS) {
        const methodPlans = planColumns(reference, settings, method);
        const measured = BINNED.has(method) ? unsortedValues(sample) : sample;
        const [bucket, computeSeconds] = await seconds(() =>
          Promise.resolve(evaluateWindow(methodPlans, measured, settings.datasetDriftShare)),
        );
        const [onWorkers, workerSeconds] = await seconds(() =>
          evaluateWindowOn(walks, methodPlans, measured, settings.datasetDriftShare),
        );
        if (JSON.stringify(onWorkers) !== JSON.stringify(bucket))
          throw new Error(`bench: the worker threads' results differ from this thread's (${method})`);
        log(`window with method ${method}`);
        const [, totalSeconds] = await seconds(() =>
          service.report({ modelId: 'bench', version: '1', ...window, window: undefined, method }),
        );
        const drifted = bucket.columns.filter((c) => c.role === 'feature' && c.drifted).length;
        const resolved = method === 'auto' ? `auto (${methodPlans[0]?.method ?? '?'})` : method;
        perMethod.push({
          method: resolved,
          statistics: computeSeconds,
          statisticsOnWorkers: workerSeconds,
          endToEnd: totalSeconds,
          drifted,
        });
        lines.push(
          `  ${resolved.padEnd(20)}${fmt(computeSeconds).padEnd(28)}${fmt(workerSeconds).padEnd(28)}${fmt(totalSeconds).padEnd(28)}${drifted}/${features}`,
        );
      }
      // The service path's peak, before the files (2 GB of CSV at full size) are written.
      const servicePeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      const offline: OfflineTimings = values['no-offline']
        ? { files: [], runs: [] }
        : await benchOffline(db, {
            features,
            window: { reference: { from: T0, to: T0 + DAY }, current: window },
            dir: values.files ?? dir,
            log,
          });
      if (offline.runs.length > 0)
        lines.push('', 'offline path (modelwatch drift, wasserstein, same rows in files)');
      for (const run of offline.runs) lines.push(`  ${run.label.padEnd(48)} ${fmt(run.seconds)}`);
      lines.push('', `peak RSS of the service path ${servicePeakRssMb} MB`);
      const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      if (offline.runs.length > 0) lines.push(`peak RSS with the offline path ${peakRssMb} MB`);
      const json = {
        features,
        rows,
        servicePeakRssMb,
        mergesSettled: settleSeconds,
        service: {
          setReference: referenceSeconds,
          readStoredReference: storedSeconds,
          baselineScan: scanSeconds,
          readWindow: readSeconds,
          methods: perMethod,
        },
        offline,
        peakRssMb,
      };
      process.stdout.write(`${lines.join('\n')}\n\n${JSON.stringify(json)}\n`);
    } finally {
      await walks?.close();
      releaseDb();
      await db.close();
      await scratch.remove();
    }
  },
};
