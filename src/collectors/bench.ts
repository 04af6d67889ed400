import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { openDatabase } from '../platform/clickhouse/index.js';
import {
  cleanUpOnSignal,
  decimalOption,
  parseOptions,
  UsageError,
  withBenchEnvironment,
  type Bench,
  type BenchEnvironment,
} from '../platform/cli/index.js';
import { commandWorks, createKafka, ensureTopics, resolveKafkaJars } from '../platform/kafka/index.js';
import { benchEvent, produceEvents } from './bench-events.js';
import {
  PRODUCERS,
  producePacedWithJava,
  producePacedWithKafkajs,
  type PacedLoad,
  type PacedResult,
  type ProducerKind,
} from './bench-producer.js';
import { spawnService, type ProcessSample, type ServiceProcess } from './bench-service.js';

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
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return offsets?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0) ?? 0;
  } finally {
    await admin.disconnect();
  }
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

const usage =
  'modelwatch bench ingest [--events N] [--rate EVENTS_PER_S] [--seconds S | --minutes M] [--node-flags="--flag …"] [--producer java|kafkajs (default: java with a JDK)]';

/** `text` as a whole number ≥ `min` in decimal ('', ' ' and '0x10' are refused), or `fallback` when absent. */
function whole(name: string, text: string | undefined, min: number, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = decimalOption(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got '${text}'`);
  return value;
}

interface IngestBenchOptions extends BenchEnvironment {
  events: number;
  rate: number;
  seconds: number;
  nodeFlags: string[];
  producer: ProducerKind;
}

export const ingestBench: Bench = {
  async run(args) {
    const { values } = parseOptions(
      args,
      {
        events: { type: 'string' },
        rate: { type: 'string' },
        // No default: given together with --minutes, it is refused rather than overridden.
        seconds: { type: 'string' },
        minutes: { type: 'string' },
        // A Node flag starts with '-': parseArgs takes it only as --node-flags=--flag.
        'node-flags': { type: 'string', default: '' },
        producer: { type: 'string' },
      },
      usage,
    );
    if (values.seconds !== undefined && values.minutes !== undefined)
      throw new UsageError(`--seconds and --minutes exclude each other; usage: ${usage}`);
    const seconds =
      values.minutes === undefined
        ? whole('seconds', values.seconds, 1, 20)
        : whole('minutes', values.minutes, 1) * 60;
    const events = whole('events', values.events, 0, 200_000);
    const rate = whole('rate', values.rate, 1, 5_000);
    // `java` runs a source file only with a JDK's compiler (a JRE alone has none): `javac` says so.
    const producer = values.producer ?? ((await commandWorks('javac', ['-version'])) ? 'java' : 'kafkajs');
    if (!(PRODUCERS as readonly string[]).includes(producer))
      throw new UsageError(`--producer must be java or kafkajs, got '${producer}'`);
    const options = {
      events,
      rate,
      seconds,
      nodeFlags: (values['node-flags'] ?? '').split(/\s+/).filter((f) => f !== ''),
      producer: producer as ProducerKind,
    };
    await withBenchEnvironment('pipeline', (env) => runIngestBench({ ...env, ...options }));
  },
};

/** Samples the service while `done()` is false; returns the samples (every `everyMs`). */
async function sampleWhile(
  service: ServiceProcess,
  everyMs: number,
  until: () => Promise<boolean>,
): Promise<{ at: number; sample: ProcessSample }[]> {
  const started = performance.now();
  const samples = [{ at: 0, sample: await service.sample() }];
  let next = everyMs;
  while (!(await until())) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (performance.now() - started >= next) {
      samples.push({ at: performance.now() - started, sample: await service.sample() });
      next += everyMs;
    }
  }
  samples.push({ at: performance.now() - started, sample: await service.sample() });
  return samples;
}

/** RSS at the start, the middle and the end of a series of samples, in MB. */
function startMiddleEnd(samples: { sample: ProcessSample }[]): number[] {
  const at = (i: number) => mb(samples[i]?.sample.rssBytes ?? Number.NaN);
  return [at(0), at(samples.length >> 1), at(samples.length - 1)];
}

/** The run's topic holds gigabytes after a long run: removed, as the bench's data dir is (on Ctrl-C too). */
async function deleteTopic(kafka: Kafka, topic: string, logger: BenchEnvironment['logger']): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: [topic] })
    .catch((err: unknown) => logger.warn({ err }, 'bench topic not deleted'));
  await admin.disconnect();
}

async function runIngestBench(env: IngestBenchOptions): Promise<void> {
  const { config, topic, logger, brokers, events, rate, seconds } = env;
  const kafka = createKafka(config.kafka, brokers, logger);
  await ensureTopics(kafka, [{ topic, numPartitions: config.topics.partitions }]);
  // The figures on stdout (`modelwatch bench` reads them there), what is under way on stderr.
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const bytes = Buffer.byteLength(benchEvent(0, Date.now()));
  const report: Record<string, unknown> = { event_bytes: bytes, partitions: config.topics.partitions };
  const group = config.ingest.consumerGroup;
  let service: ServiceProcess | undefined;
  const releaseTopic = cleanUpOnSignal(() => deleteTopic(kafka, topic, logger));
  try {
    let bare = Number.NaN;
    if (events > 0) {
      progress(
        `producing ${events} events of ${bytes} bytes to ${topic} (${config.topics.partitions} partitions)…`,
      );
      const produceStart = performance.now();
      await produceEvents(kafka, topic, events);
      out(
        `produced ${events} events of ${bytes} bytes to ${topic} (${config.topics.partitions} partitions) ` +
          `at ${Math.round(events / ((performance.now() - produceStart) / 1000))} events/s`,
      );
      bare = await bareConsumerRate(kafka, topic, events);
      out(`bare kafkajs consumer (count only):        ${Math.round(bare)} events/s`);
    }
    const started = performance.now();
    service = await spawnService({ config, brokers, nodeFlags: env.nodeFlags });
    await service.ready();
    const idle = await service.sample();
    const { nodeFlags } = service;
    out(
      `service process ${service.pid} (node ${nodeFlags.join(' ')}): ready in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${mb(idle.rssBytes)} MB, CPU ${idle.cpuSeconds.toFixed(1)} s`,
    );
    const ready = { rss_mb: mb(idle.rssBytes), cpu_s: idle.cpuSeconds };
    const backlog =
      events > 0 ? await backlogPhase(kafka, service, group, topic, events, bare, out) : undefined;
    const produce = pacedProducer(env, kafka);
    const paced = await pacedPhase(
      kafka,
      service,
      group,
      produce,
      { topic, rate, seconds, first: events },
      out,
      progress,
    );
    const code = await service.stop();
    service = undefined;
    if (code !== 0) throw new Error(`the service exited with ${code}`);
    const stored = await storedFigures(env, events, events + paced.produced, out);
    out(
      JSON.stringify({
        bench: 'ingest',
        ...report,
        node_flags: nodeFlags,
        service_ready: ready,
        backlog,
        paced,
        stored,
      }),
    );
  } finally {
    releaseTopic();
    await service?.stop();
    await deleteTopic(kafka, topic, logger);
  }
}

/** The backlog consumed as fast as the service can: events/s, CPU, RSS beside the bare consumer. */
async function backlogPhase(
  kafka: Kafka,
  service: ServiceProcess,
  group: string,
  topic: string,
  events: number,
  bare: number,
  out: (line: string) => void,
): Promise<Record<string, unknown>> {
  const started = performance.now();
  let done = 0;
  const samples = await sampleWhile(service, 1_000, async () => {
    done = await committed(kafka, group, topic);
    return done >= events;
  });
  const seconds = (performance.now() - started) / 1000;
  const first = samples[0]?.sample;
  const last = samples[samples.length - 1]?.sample;
  const cpu = (last?.cpuSeconds ?? 0) - (first?.cpuSeconds ?? 0);
  const rate = events / seconds;
  const rss = startMiddleEnd(samples);
  out(
    `modelwatch pipeline (validated, stored, committed): ${Math.round(rate)} events/s ` +
      `(${(rate / bare).toFixed(2)}× the bare consumer; ${events} in ${seconds.toFixed(1)} s)\n` +
      `  service CPU: ${cpu.toFixed(1)} s (${Math.round(events / cpu)} events per CPU second, the embedded engine included; ` +
      `bare consumer ${Math.round(bare)} events/s); service RSS start/middle/end ${rss.join(' / ')} MB, peak ${mb(last?.peakRssBytes ?? 0)} MB`,
  );
  return {
    events_per_s: rate,
    bare_events_per_s: bare,
    ratio: rate / bare,
    cpu_s: cpu,
    events_per_cpu_s: events / cpu,
    rss_mb: rss,
    peak_rss_mb: mb(last?.peakRssBytes ?? 0),
  };
}

type PacedProducer = { kind: ProducerKind; run: (load: PacedLoad) => Promise<PacedResult> };

function pacedProducer(env: IngestBenchOptions, kafka: Kafka): PacedProducer {
  if (env.producer === 'kafkajs')
    return { kind: 'kafkajs', run: (load) => producePacedWithKafkajs(kafka, load) };
  const { config, brokers, logger } = env;
  return {
    kind: 'java',
    run: async (load) =>
      producePacedWithJava(
        brokers,
        await resolveKafkaJars(config.kafka.localVersion, config.cacheDir, logger),
        load,
      ),
  };
}

/** A steady rate for `seconds`, the service sampled every 10 s (every second in short runs). */
async function pacedPhase(
  kafka: Kafka,
  service: ServiceProcess,
  group: string,
  producer: PacedProducer,
  options: PacedLoad,
  out: (line: string) => void,
  progress: (line: string) => void,
): Promise<{ produced: number; [figure: string]: unknown }> {
  const what =
    `${options.rate} events/s for ${options.seconds} s with event time = send time ` +
    `(producer: ${producer.kind === 'java' ? "Kafka's Java client" : 'kafkajs, in this process'})`;
  progress(`steady rate: producing ${what}…`);
  const every = options.seconds >= 120 ? 10_000 : 1_000;
  let load: PacedResult | undefined;
  const producing = producer.run(options).then((result) => (load = result));
  let failed = false;
  producing.catch(() => (failed = true));
  const samples = await sampleWhile(service, every, async () => {
    if (failed) return true;
    if (load === undefined) return false;
    return (await committed(kafka, group, options.topic)) >= options.first + load.produced;
  });
  await producing;
  const produced = load?.produced ?? 0;
  const first = samples[0]?.sample;
  const last = samples[samples.length - 1]?.sample;
  const cpu = (last?.cpuSeconds ?? 0) - (first?.cpuSeconds ?? 0);
  const seconds = (samples[samples.length - 1]?.at ?? 0) / 1000;
  const rss = startMiddleEnd(samples);
  out(
    `steady rate: ${what}\n` +
      `  ${produced} events kept up with in ${seconds.toFixed(1)} s; service CPU ${cpu.toFixed(1)} s ` +
      `(${Math.round(produced / cpu)} events per CPU second); service RSS start/middle/end ${rss.join(' / ')} MB, ` +
      `peak ${mb(last?.peakRssBytes ?? 0)} MB (since the service started)\n` +
      `  producer (${producer.kind}) CPU ${(load?.cpuSeconds ?? 0).toFixed(1)} s beside it on the same cores`,
  );
  if (options.seconds >= 120)
    out(`  RSS every ${every / 1000} s (MB): ${samples.map((s) => mb(s.sample.rssBytes)).join(' ')}`);
  return {
    rate: options.rate,
    seconds: options.seconds,
    produced,
    producer: producer.kind,
    producer_cpu_s: load?.cpuSeconds,
    cpu_s: cpu,
    events_per_cpu_s: produced / cpu,
    rss_mb: rss,
    rss_series_mb: samples.map((s) => mb(s.sample.rssBytes)),
    peak_rss_mb: mb(last?.peakRssBytes ?? 0),
  };
}

/** After the service stopped: every event stored once, and how soon events became queryable. */
async function storedFigures(
  { config }: BenchEnvironment,
  backlog: number,
  total: number,
  out: (line: string) => void,
): Promise<Record<string, unknown>> {
  const db = await openDatabase(config.clickhouse, { connections: 1 });
  try {
    const [row] = await (
      await db.client.query({
        query: `SELECT count() AS stored, quantileExactIf(0.5)(ms, paced) AS p50, quantileExactIf(0.95)(ms, paced) AS p95,
                       maxIf(ms, paced) AS max, countIf(paced) AS n
                FROM (SELECT dateDiff('millisecond', timestamp, ingested_at) AS ms,
                             toUInt64(substring(prediction_id, 7)) >= {first:UInt64} AS paced
                      FROM predictions FINAL WHERE model_id = 'bench-model')`,
        query_params: { first: backlog },
        format: 'JSONEachRow',
      })
    ).json<{ stored: number; p50: number; p95: number; max: number; n: number }>();
    out(
      `event-to-queryable at the steady rate (ingested_at − event time, ${row?.n ?? 0} events): ` +
        `p50 ${row?.p50 ?? '?'} ms, p95 ${row?.p95 ?? '?'} ms, max ${row?.max ?? '?'} ms\n` +
        `stored rows (FINAL): ${row?.stored ?? '?'} of ${total}`,
    );
    if (row?.stored !== total) throw new Error(`stored ${row?.stored ?? '?'} rows of ${total}`);
    return { stored: row.stored, latency_ms: { p50: row.p50, p95: row.p95, max: row.max } };
  } finally {
    await db.close();
  }
}
