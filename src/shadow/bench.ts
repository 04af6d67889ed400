import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Partitioners, type Kafka } from 'kafkajs';
import { bundledModelFile, InferenceCore } from '../inference/index.js';
import { ArtifactStore, ModelRegistry } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import {
  parseOptions,
  positiveWholeOption,
  withBenchEnvironment,
  type Bench,
  type BenchContext,
} from '../platform/cli/index.js';
import type { Config } from '../platform/config/index.js';
import { createKafka, ensureTopics } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';

const F = 10;
const MODEL = 'bench-shadow';

function event(i: number, timestamp: number): string {
  const features: Record<string, number> = {};
  for (let f = 0; f < F; f++) features[`f${f}`] = (((i * 7919 + f * 104729) % 2000) - 1000) / 250;
  return JSON.stringify({
    prediction_id: `s-${i}`,
    model_id: MODEL,
    model_version: '1',
    timestamp,
    features,
    prediction: i % 2,
    score: (i % 1000) / 1000,
  });
}

async function produce(kafka: Kafka, topic: string, count: number): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const now = Date.now();
  for (let i = 0; i < count; i += 5_000) {
    const n = Math.min(5_000, count - i);
    await producer.send({
      topic,
      acks: 1,
      messages: Array.from({ length: n }, (_, j) => ({ key: `k${i + j}`, value: event(i + j, now) })),
    });
  }
  await producer.disconnect();
}

/** The core alone: the same model on row-major Float32Array batches, rows/s (median of 3). */
async function coreAlone(rows: number, batch: number): Promise<number> {
  const core = new InferenceCore();
  const model = await core.loadFile('bench', bundledModelFile('synthetic-logistic-10'));
  const values = new Float32Array(batch * F).map((_, k) => ((k * 7919) % 2000) / 250 - 4);
  const rates: number[] = [];
  for (let repeat = 0; repeat < 4; repeat++) {
    const started = performance.now();
    for (let done = 0; done < rows; done += batch)
      await model.scoreMatrix({ values, rows: batch, layout: 'row-major' });
    if (repeat > 0) rates.push(rows / ((performance.now() - started) / 1000));
  }
  await core.close();
  return rates.sort((a, b) => a - b)[1] ?? 0;
}

async function stored(db: Database, version = '2'): Promise<number> {
  const result = await db.client.query({
    query: 'SELECT count() AS c FROM shadow_scores WHERE challenger_version = {version:String}',
    query_params: { version },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ c: string }>();
  return Number(row?.c ?? 0);
}

/** Registers the model as challenger `version`, through a service started for it. */
async function register(
  config: Config,
  context: BenchContext,
  logger: Logger,
  brokers: string[],
  version: string,
  before?: (db: Database) => Promise<void>,
): Promise<void> {
  const service = await context.startService({ config, logger, brokers, port: 0 });
  await service.ready;
  await before?.(service.db);
  const bytes = await readFile(bundledModelFile('synthetic-logistic-10'));
  const sidecar = await readFile(
    bundledModelFile('synthetic-logistic-10').replace(/\.onnx$/, '.json'),
    'utf8',
  );
  const sha = createHash('sha256').update(bytes).digest('hex');
  await new ArtifactStore(service.db).put(MODEL, version, sha, bytes.toString('base64'));
  await new ModelRegistry(service.db).register({
    modelId: MODEL,
    version,
    task: 'binary_classification',
    positiveClass: '1',
    stage: 'shadow',
    artifactSha256: sha,
    trainingDataUri: 'bench://synthetic',
    trainingDataSha256: '0'.repeat(64),
    featureSchema: sidecar,
  });
  await service.close();
}

/** Rows/s and CPU of a phase timed from the service's readiness until `done` holds. */
async function timed(done: () => Promise<boolean>): Promise<{ seconds: number; cpuSeconds: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 100));
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * The shadow feed alone: a second challenger whose cursor starts at the beginning scores every
 * stored row while the collectors have nothing left to consume.
 */
async function feedAlone(
  config: Config,
  context: BenchContext,
  logger: Logger,
  brokers: string[],
  rows: number,
): Promise<void> {
  await register(config, context, logger, brokers, '3', (db) =>
    db.client
      .insert({
        table: 'shadow_progress',
        values: [{ model_id: MODEL, challenger_version: '3', ingested_to: 0, updated_at: Date.now() }],
        format: 'JSONEachRow',
      })
      .then(() => undefined),
  );
  const service = await context.startService({ config, logger, brokers, port: 0 });
  await service.ready;
  const { seconds, cpuSeconds } = await timed(async () => (await stored(service.db, '3')) >= rows);
  process.stdout.write(
    `shadow feed alone (stored predictions → scored → shadow_scores, collectors idle): ${Math.round(rows / seconds)} rows/s ` +
      `(${rows} rows in ${seconds.toFixed(1)} s); ${cpuSeconds.toFixed(1)} CPU s, ${Math.round(rows / cpuSeconds)} rows per CPU second\n`,
  );
  await service.close();
}

export const shadowBench: Bench = {
  async run(args, context) {
    const usage = 'modelwatch bench shadow [--rows N] [--batch ROWS]';
    const { values } = parseOptions(args, { rows: { type: 'string' }, batch: { type: 'string' } }, usage);
    const rows = positiveWholeOption('rows', values.rows, 200_000, usage);
    const batch = positiveWholeOption('batch', values.batch, 10_000, usage);
    await withBenchEnvironment('shadow', async ({ config, topic, brokers, logger }) => {
      const kafka = createKafka(config.kafka, brokers, logger);
      await ensureTopics(kafka, [{ topic, numPartitions: config.topics.partitions }]);
      await register(config, context, logger, brokers, '2');
      // Progress on stderr: stdout holds the figures (`modelwatch bench` reads them there).
      process.stderr.write(`producing ${rows} predictions of a 10-feature model to ${topic}…\n`);
      await produce(kafka, topic, rows);
      const core = await coreAlone(rows, batch);
      process.stdout.write(
        `inference core alone (row-major Float32Array, batches of ${batch}): ${Math.round(core)} rows/s\n`,
      );
      // The whole service (collectors too, as in production) with one challenger; timed from readiness.
      const service = await context.startService({ config, logger, brokers, port: 0 });
      await service.ready;
      const started = performance.now();
      const cpu = process.cpuUsage();
      let done = await stored(service.db);
      const atStart = done;
      while (done < rows) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        done = await stored(service.db);
      }
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      // CPU of the whole process (collectors, shadow consumer, embedded engine): comparable when
      // other work loads the machine and wall time is not.
      const cpuSeconds = (used.user + used.system) / 1e6;
      process.stdout.write(
        `shadow end to end (Kafka → scored → shadow_scores, collectors ingesting the same topic): ${Math.round((rows - atStart) / seconds)} rows/s ` +
          `(${rows} rows in ${seconds.toFixed(1)} s; ${((rows - atStart) / seconds / core).toFixed(3)}× the core alone); ` +
          `${cpuSeconds.toFixed(1)} CPU s, ${Math.round((rows - atStart) / cpuSeconds)} rows per CPU second\n`,
      );
      await service.close();
      await feedAlone(config, context, logger, brokers, rows);
    });
  },
};
