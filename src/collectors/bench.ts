import { randomUUID } from 'node:crypto';
import { Partitioners, type Kafka } from 'kafkajs';
import {
  parseOptions,
  withBenchEnvironment,
  type Bench,
  type BenchContext,
  type BenchEnvironment,
} from '../platform/cli/index.js';
import { createKafka, ensureTopics } from '../platform/kafka/index.js';

const NUMERIC_FEATURES = 52;
const STRING_FEATURES = 6;

/** A ~1 KB prediction event (52 numeric and 6 string features), as the issue asks. */
function benchEvent(i: number, timestamp: number): string {
  const features: Record<string, number | string> = {};
  for (let f = 0; f < NUMERIC_FEATURES; f++)
    features[`f${f}`] = Math.round(((i * 7919 + f * 104729) % 100_000) * 1.37) / 100;
  for (let s = 0; s < STRING_FEATURES; s++) features[`s${s}`] = `cat-${(i + s) % 17}`;
  return JSON.stringify({
    prediction_id: `bench-${i}`,
    model_id: 'bench-model',
    model_version: '1',
    timestamp,
    features,
    prediction: i % 2,
    score: (i % 1000) / 1000,
    latency_ms: 3 + (i % 40),
    status: i % 100 === 0 ? 'error' : 'ok',
    entity_id: `entity-${i % 10_000}`,
    request_id: `req-${i}`,
  });
}

async function produceEvents(
  kafka: Kafka,
  topic: string,
  count: number,
  first = 0,
  timestamp = () => Date.now(),
): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  for (let i = 0; i < count; i += 5_000) {
    const n = Math.min(5_000, count - i);
    const messages = Array.from({ length: n }, (_, j) => ({
      key: `k${first + i + j}`,
      value: benchEvent(first + i + j, timestamp()),
    }));
    await producer.send({ topic, messages, acks: 1 });
  }
  await producer.disconnect();
}

/** Messages/s of a consumer that only counts: the ceiling kafkajs sets on this machine. */
async function bareConsumerRate(kafka: Kafka, topic: string, count: number): Promise<number> {
  const consumer = kafka.consumer({
    groupId: `bench-bare-${randomUUID()}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
  });
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const started = performance.now();
  let finished = 0;
  await consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      seen += batch.messages.length;
      if (seen >= count && finished === 0) finished = performance.now();
      return Promise.resolve();
    },
  });
  while (finished === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  await consumer.disconnect();
  return count / ((finished - started) / 1000);
}

async function committed(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  await admin.disconnect();
  return offsets?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) ?? 0;
}

function rssSampler(): { peak: () => number; stop: () => void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

const mb = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MB`;

export const ingestBench: Bench = {
  async run(args, context) {
    const { values } = parseOptions(
      args,
      {
        events: { type: 'string', default: '200000' },
        rate: { type: 'string', default: '5000' },
        seconds: { type: 'string', default: '20' },
      },
      'modelwatch bench ingest [--events N] [--rate EVENTS_PER_S --seconds S]',
    );
    const events = Number(values.events);
    const rate = Number(values.rate);
    const seconds = Number(values.seconds);
    await withBenchEnvironment('pipeline', (env) =>
      runIngestBench({ ...env, events, rate, seconds }, context),
    );
  },
};

interface IngestBenchOptions extends BenchEnvironment {
  events: number;
  rate: number;
  seconds: number;
}

async function runIngestBench(
  { config, topic, logger, brokers, events, rate, seconds }: IngestBenchOptions,
  context: BenchContext,
): Promise<void> {
  const kafka = createKafka(config.kafka, brokers, logger);
  await ensureTopics(kafka, [{ topic, numPartitions: config.topics.partitions }]);
  const bytes = Buffer.byteLength(benchEvent(0, Date.now()));
  process.stdout.write(
    `producing ${events} events of ${bytes} bytes to ${topic} (${config.topics.partitions} partitions)…\n`,
  );
  const produceStart = performance.now();
  await produceEvents(kafka, topic, events);
  process.stdout.write(
    `  produced at ${Math.round(events / ((performance.now() - produceStart) / 1000))} events/s\n`,
  );

  const bare = await bareConsumerRate(kafka, topic, events);
  process.stdout.write(`bare kafkajs consumer (count only):        ${Math.round(bare)} events/s\n`);

  global.gc?.();
  const rss = rssSampler();
  const started = performance.now();
  const service = await context.startService({ config, logger, brokers, port: 0 });
  await service.ready;
  const joined = performance.now();
  const cpu = process.cpuUsage();
  let done = await committed(kafka, config.ingest.consumerGroup, topic);
  const atJoin = done;
  // RSS at the start, the middle and the end of the run: growth shows as a rising series.
  const rssSeries = [process.memoryUsage().rss];
  while (done < events) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    done = await committed(kafka, config.ingest.consumerGroup, topic);
    if (rssSeries.length === 1 && done >= atJoin + (events - atJoin) / 2)
      rssSeries.push(process.memoryUsage().rss);
  }
  const finished = performance.now();
  const used = process.cpuUsage(cpu);
  rssSeries.push(process.memoryUsage().rss);
  const cpuSeconds = (used.user + used.system) / 1e6;
  const pipeline = (events - atJoin) / ((finished - joined) / 1000);
  process.stdout.write(
    `modelwatch pipeline (validated, stored, committed): ${Math.round(pipeline)} events/s ` +
      `(${(pipeline / bare).toFixed(2)}× the bare consumer; start-up to group join ${((joined - started) / 1000).toFixed(1)} s, ` +
      `all ${events} in ${((finished - started) / 1000).toFixed(1)} s from start)\n` +
      `  CPU: ${cpuSeconds.toFixed(1)} s for ${events - atJoin} events (${Math.round((events - atJoin) / cpuSeconds)} events per CPU second, the embedded engine included); ` +
      `RSS start/middle/end ${rssSeries.map(mb).join(' / ')}\n`,
  );

  process.stdout.write(`latency: producing ${rate} events/s for ${seconds} s with event time = send time…\n`);
  const latencyStart = Date.now();
  await paced(kafka, topic, rate, seconds, events);
  const total = events + rate * seconds;
  while ((await committed(kafka, config.ingest.consumerGroup, topic)) < total)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const result = await service.db.client.query({
    query: `SELECT quantileExact(0.5)(ms) AS p50, quantileExact(0.95)(ms) AS p95, max(ms) AS max, count() AS n
            FROM (SELECT dateDiff('millisecond', timestamp, ingested_at) AS ms FROM predictions FINAL
                  WHERE model_id = 'bench-model' AND timestamp >= fromUnixTimestamp64Milli({since:Int64}))`,
    query_params: { since: latencyStart },
    format: 'JSONEachRow',
  });
  const [latency] = await result.json<{ p50: number; p95: number; max: number; n: number }>();
  const [stored] = await (
    await service.db.client.query({
      query: 'SELECT count() AS c FROM predictions FINAL',
      format: 'JSONEachRow',
    })
  ).json<{ c: number }>();
  rss.stop();
  process.stdout.write(
    `event-to-queryable (ingested_at − event time, ${latency?.n ?? 0} events): p50 ${latency?.p50 ?? '?'} ms, p95 ${latency?.p95 ?? '?'} ms, max ${latency?.max ?? '?'} ms\n` +
      `stored rows (FINAL): ${stored?.c ?? '?'} of ${total}\n` +
      `peak RSS of this process during the pipeline run: ${mb(rss.peak())} (the Kafka broker runs in its own JVM)\n`,
  );
  await service.close();
}

/** Produces at a steady rate, one batch every 100 ms, each event stamped with its send time. */
async function paced(
  kafka: Kafka,
  topic: string,
  rate: number,
  seconds: number,
  first: number,
): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const perTick = Math.max(1, Math.round(rate / 10));
  const ticks = seconds * 10;
  const start = performance.now();
  for (let t = 0; t < ticks; t++) {
    const messages = Array.from({ length: perTick }, (_, j) => ({
      value: benchEvent(first + t * perTick + j, Date.now()),
    }));
    await producer.send({ topic, messages, acks: 1 });
    const wait = start + (t + 1) * 100 - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await producer.disconnect();
}
