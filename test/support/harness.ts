import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type ITopicConfig, type Message } from 'kafkajs';
import { inject, onTestFinished } from 'vitest';
import { loadConfig, type Config } from '../../src/platform/config/index.js';

export function brokers(): string[] {
  return inject('kafkaBrokers');
}

/** A short unique suffix, so every test has its own topics, group and database. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

export function tempDir(prefix = 'modelwatch-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let processDataDir: string | undefined;

/**
 * chdb binds one data path per process, so every test in a file shares one data dir (removed at
 * exit) and isolates itself by database name instead.
 */
function sharedDataDir(): string {
  if (!processDataDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-test-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    processDataDir = dir;
  }
  return processDataDir;
}

/** Environment for one isolated service: unique topics, group, database and data dir. */
export function isolatedEnv(extra: Record<string, string> = {}): Record<string, string> {
  const id = uniqueName('t');
  return {
    MODELWATCH_KAFKA_BROKERS: brokers().join(','),
    MODELWATCH_TOPIC_PREDICTIONS: `${id}.predictions`,
    MODELWATCH_TOPIC_LABELS: `${id}.labels`,
    MODELWATCH_TOPIC_ACCESS_LOG: `${id}.access-log`,
    MODELWATCH_TOPIC_RETRAIN: `${id}.retrain`,
    MODELWATCH_TOPIC_AUDIT_DIGESTS: `${id}.audit-digests`,
    MODELWATCH_TOPIC_AUDIT: `${id}.audit-events`,
    MODELWATCH_TOPIC_DLQ: `${id}.dead-letter`,
    MODELWATCH_TOPIC_PARTITIONS: '3',
    MODELWATCH_CONSUMER_GROUP: `${id}-group`,
    MODELWATCH_CLICKHOUSE_DATABASE: id,
    MODELWATCH_DATA_DIR: sharedDataDir(),
    MODELWATCH_API_HOST: '127.0.0.1',
    MODELWATCH_ADMIN_KEY: 'test-admin-key-0123456789',
    MODELWATCH_BATCH_MAX_MS: '200',
    // Also each consumer's fetch wait, which a service's stop waits out (500 ms by default).
    MODELWATCH_AUDIT_BATCH_MAX_MS: '200',
    MODELWATCH_CONSUMER_SESSION_TIMEOUT_MS: '6000',
    MODELWATCH_LOG_LEVEL: 'warn',
    // /metrics needs a viewer key by default; the tests that scrape it read it without one.
    MODELWATCH_METRICS_PUBLIC: 'true',
    ...extra,
  };
}

/**
 * The config of a service in the test's own process. The engine library's pages are not released:
 * a release takes ~0.2 s of a service start and the test's queries fault the pages back in, ~5% of
 * the suite's integration time in all (service-engine-pages.test.ts checks the release, on by
 * default).
 */
export function isolatedConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({ MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES: 'false', ...isolatedEnv(extra) });
}

/**
 * The producer id of a consumed message's record batch, as kafkajs decodes it (untyped
 * `batchContext`): -1 unless an idempotent or transactional producer wrote it.
 */
export function producerIdOf(message: object): string | undefined {
  return (message as { batchContext?: { producerId?: string } }).batchContext?.producerId;
}

export function testKafka(): Kafka {
  return new Kafka({ brokers: brokers(), clientId: 'modelwatch-test', logLevel: logLevel.NOTHING });
}

/**
 * Creates `topics` and waits for their leaders. Right after a creation a busy broker can still
 * answer the metadata request with "This server does not host this topic-partition", which
 * kafkajs does not retry (only LEADER_NOT_AVAILABLE): that answer is retried here.
 */
export async function createTopics(topics: ITopicConfig[]): Promise<void> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.createTopics({ topics, waitForLeaders: true });
        return;
      } catch (err) {
        const { type, cause } = err as { type?: unknown; cause?: { type?: unknown } };
        if (attempt >= 10 || (type ?? cause?.type) !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  } finally {
    await admin.disconnect();
  }
}

/** Produces messages (values as given: objects are JSON-encoded, strings and Buffers sent raw). */
export async function produce(
  topic: string,
  values: (object | string | Buffer)[],
  key?: (i: number) => string,
): Promise<void> {
  // Not idempotent (kafkajs' idempotent producer fails against Kafka 4 with out-of-order
  // sequence errors): a retried send may write a message twice, so tests count with FINAL.
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const messages: Message[] = values.map((v, i) => ({
      key: key ? key(i) : null,
      value: Buffer.isBuffer(v) || typeof v === 'string' ? v : JSON.stringify(v),
    }));
    for (let i = 0; i < messages.length; i += 2_000)
      await producer.send({ topic, messages: messages.slice(i, i + 2_000), acks: -1 });
  } finally {
    await producer.disconnect();
  }
}

/** Polls until `check` returns a value that is not undefined, or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 45_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(
    `timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
  );
}

/** Waits until `groupId` has committed every partition of `topic` up to its end. */
export async function waitForGroupAtEnd(groupId: string, topic: string, timeoutMs?: number): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    return await waitFor(
      `group ${groupId} committed to the end of ${topic}`,
      async () => {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const partitions = offsets?.partitions ?? [];
        const atEnd =
          partitions.length === ends.size && partitions.every((p) => p.offset === ends.get(p.partition));
        return atEnd ? partitions.reduce((sum, p) => sum + Number(p.offset), 0) : undefined;
      },
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}
