import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { expect } from 'vitest';
import { fetchTopicEnds } from '../../src/platform/kafka/index.js';
import { californiaTraffic, readTopic, watchLag } from './cluster.js';
import { clickhouseOutage } from './faults.js';
import { brokers, isolatedEnv, tempDir, testKafka, waitFor } from './harness.js';
import { probeEngineMemory, type EngineMemorySample } from './engine-memory-probe.js';
import { startTestService, type TestService } from './service.js';

/**
 * The rate of `modelwatch bench ingest` (its `--rate` default, src/collectors/bench.ts): events
 * per second, here predictions, each with its label published beside it.
 */
export const BENCH_RATE = 5_000;

/** A poison message after every this many predictions. */
const POISON_EVERY = 10_000;

export interface RateFigures {
  name: string;
  /** Predictions (and as many labels) per second asked of the producer. */
  rate: number;
  /** Predictions per second the producer achieved while the table was detached. */
  outageRate: number;
  /** Distinct predictions published in all (as many labels). */
  published: number;
  /** Messages on both topics once the producer stopped (poison and resends included). */
  messages: number;
  /** Group lag at the table's return (= the backlog), and the highest seen. */
  lagAtAttach: number;
  peakLag: number;
  /** From ATTACH until every message published was committed. */
  catchUpMs: number;
  /** Messages committed per second while catching up. */
  catchUpRate: number;
  startRssMb: number;
  /**
   * RSS when the table is detached, the service having ingested at the rate until then: the
   * baseline of the growth checks. The RSS at start is no such floor since the service hands the
   * engine library's start-up pages back (~180 MB, src/collectors/README.md): the pages its work
   * uses come back from the file as soon as it ingests.
   */
  ingestingRssMb: number;
  /** Highest RSS (sampled every 250 ms) while the table was detached. */
  outagePeakRssMb: number;
  /** Highest RSS from the start until the backlog was committed (the catch-up included). */
  peakRssMb: number;
  /**
   * The kernel's high-water mark of the process's RSS (VmHWM) at the same moment, which no
   * sampling misses. The counting queries after it are the test's, not the service's ingest.
   */
  hwmRssMb: number | undefined;
  /** Where the sampled peak was: V8's heap, its external memory, and everything else. */
  atPeakMb: { heapUsed: number; heapTotal: number; external: number; outsideV8: number };
  poison: number;
  resentRequests: number;
  /** With MODELWATCH_OUTAGE_PROBE=1: the engine's memory at its highest during the catch-up. */
  engineAtPeak?: EngineMemorySample;
}

interface ProducerCounts {
  predictions: number;
  labels: number;
  poison: number;
  sent: number;
  resent: number;
  failures: number;
  lastError: string;
  elapsedMs: number;
  done: boolean;
}

/** The producer child (test/support/rate-producer.mjs) and its latest counts. */
function startProducer(options: Record<string, unknown>) {
  const script = path.resolve(import.meta.dirname, 'rate-producer.mjs');
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [script, JSON.stringify(options)]);
  let latest: ProducerCounts | undefined;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const lines = createInterface({ input: child.stdout });
  const done = new Promise<ProducerCounts>((resolve, reject) => {
    lines.on('line', (line) => {
      latest = JSON.parse(line) as ProducerCounts;
      if (latest.done) resolve(latest);
    });
    void exited.then((code) => reject(new Error(`the producer exited with ${code}: ${stderr}`)));
  });
  return {
    get latest() {
      return latest;
    },
    async stop(): Promise<ProducerCounts> {
      child.stdin.write('stop\n');
      return done;
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Rows of the analysis set without their ids, for the producer child. */
function rowsFile(): string {
  const traffic = californiaTraffic();
  const rows = traffic.predictions.map((p, i) => {
    const { prediction_id: _p, ...prediction } = p;
    const { prediction_id: _l, ...label } = traffic.labels[i] ?? {};
    return { prediction, label };
  });
  const file = path.join(tempDir('modelwatch-rate-'), 'rows.json');
  writeFileSync(file, JSON.stringify(rows));
  return file;
}

function highWaterMb(): number | undefined {
  let kb: string | undefined;
  try {
    kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  } catch {
    // Not Linux: the sampled peak stands alone.
  }
  return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
}

/** Every id cal-0 … cal-(n-1) stored once in `table` (FINAL), and no other. */
async function expectIdsExactly(service: TestService, table: string, n: number): Promise<void> {
  const [row] = await service.rows<{ rows: number; ids: number; lo: number; hi: number; other: number }>(
    `SELECT count() AS rows, uniqExact(prediction_id) AS ids,
            min(toUInt64OrNull(substring(prediction_id, 5))) AS lo, max(toUInt64OrNull(substring(prediction_id, 5))) AS hi,
            countIf(NOT match(prediction_id, '^cal-[0-9]+$')) AS other
     FROM ${table} FINAL`,
  );
  // n distinct ids, all cal-<k> with 0 ≤ k < n: exactly the ids published.
  expect(row, `${table}: every id published stored once`).toEqual({
    rows: n,
    ids: n,
    lo: 0,
    hi: n - 1,
    other: 0,
  });
}

/**
 * ClickHouse refusing writes for `outageMs` while a producer in its own process publishes real
 * California traffic at `rate` predictions (and as many labels) per second. The producer starts
 * with the service, so the service keeps up at that rate first, and stops when the table returns:
 * the figures then say how long the service takes to consume the backlog the outage built up.
 */
export async function outageAtRate(name: string, outageMs: number, rate: number): Promise<RateFigures> {
  const env = isolatedEnv({ MODELWATCH_LOG_LEVEL: 'warn' });
  const service = await startTestService(env);
  const { topics, ingest } = service.config;
  const kafka = testKafka();
  const published = new Map<string, number>();
  const lag = watchLag(kafka, ingest.consumerGroup, [topics.predictions, topics.labels], published);
  const startRss = process.memoryUsage().rss;
  const peak = { all: startRss, outage: startRss, atPeak: process.memoryUsage() };
  let outage = false;
  const rss = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.all) peak.atPeak = now;
    peak.all = Math.max(peak.all, now.rss);
    if (outage) peak.outage = Math.max(peak.outage, now.rss);
  }, 250);
  const producer = startProducer({
    brokers: brokers(),
    predictionsTopic: topics.predictions,
    labelsTopic: topics.labels,
    rate,
    poisonEvery: POISON_EVERY,
    rowsFile: rowsFile(),
  });
  // The producer's acknowledged counts are the topics' ends (new topics, offsets from 0).
  const follow = setInterval(() => {
    const counts = producer.latest;
    if (!counts) return;
    published.set(`${topics.predictions}/all`, counts.predictions);
    published.set(`${topics.labels}/all`, counts.labels);
  }, 250);
  let probe: ReturnType<typeof probeEngineMemory> | undefined;
  try {
    await waitFor(
      'some rows stored',
      async () => {
        const [row] = await service.rows<{ c: number }>('SELECT count() AS c FROM predictions');
        return (row?.c ?? 0) >= 1_000 ? true : undefined;
      },
      120_000,
    );
    const before = producer.latest ?? { sent: 0, elapsedMs: 0 };
    const ingestingRss = process.memoryUsage().rss;
    outage = true;
    let final: ProducerCounts | undefined;
    let attached = 0;
    let lagAtAttach = 0;
    await clickhouseOutage(outageMs, async () => {
      attached = Date.now();
      outage = false;
      if (process.env['MODELWATCH_OUTAGE_PROBE'] === '1') probe = probeEngineMemory(service);
      final = await producer.stop();
      published.set(`${topics.predictions}/all`, final.predictions);
      published.set(`${topics.labels}/all`, final.labels);
      lagAtAttach = final.predictions + final.labels - lag.committed;
    })({ service, env, faultStarted: () => undefined });
    if (!final) throw new Error('the producer did not stop');
    // On the producer's own clock: its counts arrive every 500 ms.
    const outageRate = ((final.sent - before.sent) * 1000) / (final.elapsedMs - before.elapsedMs);
    const total = final.predictions + final.labels;
    // On the broker as the producer counted it: else a shortfall is the producer's, not the service's.
    const ends = await fetchTopicEnds(kafka, topics.predictions);
    const onTopic = ends.reduce((n, p) => n + Number(p.high), 0);
    if (final.resent === 0) expect(onTopic, 'predictions on the topic').toBe(final.predictions);
    // At least 2,000 messages a second, whatever the load, or five minutes.
    await lag.until(total, Math.max(300_000, total / 2));
    const catchUpMs = Date.now() - attached;
    clearInterval(rss);
    const engineAtPeak = probe?.stop();
    const hwmRssMb = highWaterMb();
    await expectIdsExactly(service, 'predictions', final.sent);
    await expectIdsExactly(service, 'labels', final.sent);
    const letters = await readTopic(kafka, topics.deadLetter);
    const sources = letters.map(
      (m) =>
        `${String(m.headers?.['modelwatch-source-partition'])}/${String(m.headers?.['modelwatch-source-offset'])}`,
    );
    expect(new Set(sources).size, 'no source offset has two dead letters').toBe(sources.length);
    expect(new Set(letters.map((m) => m.value?.toString())).size, 'every poison message lettered').toBe(
      final.poison,
    );
    // A resent request may have written its poison twice; each copy gets its own letter.
    if (final.resent === 0) expect(letters.length, 'one letter per poison message').toBe(final.poison);
    const figures: RateFigures = {
      name,
      rate,
      outageRate: Math.round(outageRate),
      published: final.sent,
      messages: total,
      lagAtAttach,
      peakLag: lag.peak,
      catchUpMs,
      catchUpRate: Math.round((lagAtAttach * 1000) / catchUpMs),
      startRssMb: Math.round(startRss / 2 ** 20),
      ingestingRssMb: Math.round(ingestingRss / 2 ** 20),
      outagePeakRssMb: Math.round(peak.outage / 2 ** 20),
      peakRssMb: Math.round(peak.all / 2 ** 20),
      hwmRssMb,
      atPeakMb: {
        heapUsed: Math.round(peak.atPeak.heapUsed / 2 ** 20),
        heapTotal: Math.round(peak.atPeak.heapTotal / 2 ** 20),
        external: Math.round(peak.atPeak.external / 2 ** 20),
        // The rest of the RSS: the embedded engine (its parts, merges, caches) and native code.
        outsideV8: Math.round((peak.atPeak.rss - peak.atPeak.heapTotal - peak.atPeak.external) / 2 ** 20),
      },
      poison: final.poison,
      resentRequests: final.resent,
      ...(engineAtPeak ? { engineAtPeak } : {}),
    };
    console.log(`[fault figures] ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    producer.kill();
    probe?.stop();
    clearInterval(follow);
    clearInterval(rss);
    await lag.stop();
    // Closed before its topics go (it would see them vanish), then the topics: gigabytes on the
    // shared broker after a long run.
    await service.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin
      .deleteTopics({ topics: [topics.predictions, topics.labels, topics.deadLetter] })
      .catch(() => undefined);
    await admin.disconnect();
  }
}
