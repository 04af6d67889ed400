import { expect } from 'vitest';
import type { Kafka } from 'kafkajs';
import { account, expectNothingLost, reportAccounting } from './accounting.js';
import { californiaTraffic, publishPaced, readTopic, watchLag } from './cluster.js';
import { isolatedEnv, producerIdOf, waitFor } from './harness.js';
import { startTestService, type TestService } from './service.js';

export interface FaultFigures {
  name: string;
  /** From the fault's start until the group committed everything published before it ended. */
  recoverMs: number;
  peakLag: number;
  peakRssMb: number;
  /** RSS when the service was ready, before any traffic. */
  startRssMb: number;
  resentChunks: number;
}

export interface FaultContext {
  service: TestService;
  /** Call when the fault starts (recovery is measured from here; else from the fault's end). */
  faultStarted: () => void;
  /** The service's environment (topics, group, database): for a second instance of it. */
  env: Record<string, string>;
}

const POISON = 40;
const traffic = californiaTraffic();

/** Distinct ids stored: says whether only the commits are behind or consumption stopped. */
async function storedIds(service: TestService): Promise<string> {
  const [row] = await service.rows<{ p: number; l: number }>(
    'SELECT (SELECT uniqExact(prediction_id) FROM predictions) AS p, (SELECT uniqExact(prediction_id) FROM labels) AS l',
  );
  return JSON.stringify(row);
}

const idOf = (v: object | string) =>
  typeof v === 'string' ? undefined : String((v as { prediction_id: string }).prediction_id);

/** First says which side lost anything (producer or consumer), then checks the exact counts. */
async function assertNothingLost(
  service: TestService,
  kafka: Kafka,
  published: { predictions: (object | string)[]; labels: (object | string)[] },
  chunk: number,
): Promise<void> {
  const { topics } = service.config;
  const sides = [
    { kind: 'predictions', topic: topics.predictions, table: 'predictions', values: published.predictions },
    { kind: 'labels', topic: topics.labels, table: 'labels', values: published.labels },
  ];
  const results = [];
  for (const side of sides) {
    const stored = await service.rows<{ id: string }>(
      `SELECT DISTINCT prediction_id AS id FROM ${side.table}`,
    );
    const result = account(
      side.kind,
      side.values.map(idOf),
      chunk,
      await readTopic(kafka, side.topic),
      new Set(stored.map((r) => r.id)),
    );
    reportAccounting(result);
    results.push(result);
  }
  for (const result of results) expectNothingLost(result);
}

/** Counts every prediction and label once (FINAL) and every poison message once in the dead-letter topic. */
async function assertExact(service: TestService, kafka: Kafka): Promise<void> {
  const { topics } = service.config;
  const [row] = await service.rows<{ p: number; ids: number; l: number }>(
    'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT uniqExact(prediction_id) FROM predictions) AS ids, (SELECT count() FROM labels FINAL) AS l',
  );
  expect(row).toEqual({
    p: traffic.predictions.length,
    ids: traffic.predictions.length,
    l: traffic.labels.length,
  });
  // A resent chunk may hold a poison message twice in the source topic: each copy is its own
  // message and gets its own letter, and no source offset gets two.
  const copies = (await readTopic(kafka, topics.predictions)).filter((m) =>
    m.value?.toString().startsWith('poison-'),
  ).length;
  const letters = await readTopic(kafka, topics.deadLetter);
  const sources = letters.map(
    (m) =>
      `${String(m.headers?.['modelwatch-source-partition'])}/${String(m.headers?.['modelwatch-source-offset'])}`,
  );
  // Which side repeated a letter, if one did: one producer id twice is a retry the broker did not
  // deduplicate; two producer ids are a replaced producer or a source offset read again.
  const repeated = letters
    .map((m, i) => ({ m, source: sources[i] ?? '' }))
    .filter(({ source }) => sources.filter((s) => s === source).length > 1)
    .map(({ m, source }) => `${source}: letter ${m.partition}/${m.offset} by producer ${producerIdOf(m)}`);
  expect(repeated, 'no source offset has two dead letters').toEqual([]);
  expect(
    letters.filter((m) => producerIdOf(m) === '-1'),
    'every letter written by an idempotent producer',
  ).toEqual([]);
  expect(letters.length).toBe(copies);
  expect(new Set(letters.map((m) => m.value?.toString())).size).toBe(POISON);
}

/**
 * Real California traffic (predictions with poison messages among them, and labels) published
 * at a steady pace to the cluster while `fault` runs once some rows are stored.
 */
/**
 * ClickHouse refusing writes (the table detached) for `outageMs` while producers keep publishing.
 * `atAttach` runs right after the table is back, before the wait for readiness.
 */
export function clickhouseOutage(outageMs: number, atAttach?: () => Promise<void>) {
  return async ({ service }: FaultContext): Promise<void> => {
    const db = service.platform.db.client;
    await db.command({ query: 'DETACH TABLE predictions' });
    const until = Date.now() + outageMs;
    const seen = { notReady: 0, ready: 0 };
    while (Date.now() < until) {
      const response = await service.app.inject({ method: 'GET', url: '/readyz' });
      if (response.statusCode === 503) seen.notReady += 1;
      // The first writes may still be in their first attempt: only count "ready" once they fail.
      else if (seen.notReady > 0) seen.ready += 1;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await db.command({ query: 'ATTACH TABLE predictions' });
    await atAttach?.();
    expect(seen.notReady, '/readyz answered 503 during the outage').toBeGreaterThan(0);
    expect(seen.ready, '/readyz never answered 200 once it had reported not ready').toBe(0);
    await waitFor(
      'ready again',
      async () =>
        (await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200 ? true : undefined,
      120_000,
    );
  };
}

export async function runFault(
  name: string,
  kafka: Kafka,
  brokers: string[],
  fault: (ctx: FaultContext) => Promise<void>,
  options: { pauseMs: number; chunk?: number } = { pauseMs: 150 },
): Promise<FaultFigures> {
  const env = isolatedEnv({
    MODELWATCH_KAFKA_BROKERS: brokers.join(','),
    MODELWATCH_BATCH_MAX_ROWS: '500',
    MODELWATCH_LOG_LEVEL: 'warn',
    // kafkajs' DEBUG entries kept, written to a file if a commit stall rebuilds a consumer.
    MODELWATCH_KAFKA_DEBUG_RING: '20000',
  });
  const service = await startTestService(env);
  const { topics, ingest } = service.config;
  const published = new Map<string, number>();
  const lag = watchLag(kafka, ingest.consumerGroup, [topics.predictions, topics.labels], published);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
  try {
    const predictions: (object | string)[] = [...traffic.predictions];
    for (let i = 0; i < POISON; i++)
      predictions.splice(Math.floor(((i + 0.5) * predictions.length) / POISON), 0, `poison-${i} {not json`);
    const chunk = options.chunk ?? 50;
    const publishing = Promise.all([
      publishPaced(kafka, topics.predictions, predictions, {
        chunk,
        pauseMs: options.pauseMs,
        ends: published,
      }),
      publishPaced(kafka, topics.labels, traffic.labels, {
        chunk,
        pauseMs: options.pauseMs,
        ends: published,
      }),
    ]);
    await waitFor(
      'some rows stored',
      async () => {
        const [row] = await service.rows<{ c: number }>('SELECT count() AS c FROM predictions');
        return (row?.c ?? 0) >= 300 ? true : undefined;
      },
      120_000,
    );
    let started = 0;
    await fault({ service, env, faultStarted: () => (started = Date.now()) });
    const ended = Date.now();
    // Recovered once everything published up to the fault's end is committed.
    await lag.until(await lag.ends(), 300_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; stored: ${await storedIds(service)}`);
    });
    const recoverMs = Date.now() - (started || ended);
    const resent = (await publishing).reduce((a, b) => a + b, 0);
    await lag.until(await lag.ends(), 300_000).catch(async (err: unknown) => {
      throw new Error(`${String(err)}; stored: ${await storedIds(service)}`);
    });
    await assertNothingLost(service, kafka, { predictions, labels: traffic.labels }, chunk);
    await assertExact(service, kafka);
    const figures = {
      name,
      recoverMs,
      peakLag: lag.peak,
      peakRssMb: Math.round(peakRss / 2 ** 20),
      startRssMb: Math.round(startRss / 2 ** 20),
      resentChunks: resent,
    };
    console.log(`[fault figures] ${JSON.stringify(figures)}`);
    return figures;
  } finally {
    clearInterval(rss);
    await lag.stop();
  }
}
