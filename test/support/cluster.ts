import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { Kafka, Partitioners, logLevel, type KafkaMessage, type Message } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/platform/config/index.js';
import {
  createPartitionedSender,
  fetchTopicEnds,
  startLocalCluster,
  type LocalCluster,
} from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { uniqueName } from './harness.js';

/** A three-node KRaft cluster for the tests of one file: started before them, stopped after. */
export function useCluster(nodes = 3): { readonly cluster: LocalCluster; kafka(): Kafka } {
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    const config = loadConfig();
    // A fixed folder keeps the nodes' data and logs (server.log per node) after the run, to read a fault.
    const keep = process.env['MODELWATCH_TEST_CLUSTER_DIR'];
    cluster = await startLocalCluster({
      version: config.kafka.localVersion,
      cacheDir: config.cacheDir,
      nodes,
      // Three JVMs restarting at once on 2 shared cores took over 120 s (issue 13, runs 4 and 6).
      startTimeoutMs: 300_000,
      ...(keep ? { dataDir: keep } : {}),
      logger: createLogger('warn', 'test-cluster'),
    });
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);
  return {
    get cluster() {
      if (!cluster) throw new Error('the cluster is not started');
      return cluster;
    },
    kafka() {
      if (!cluster) throw new Error('the cluster is not started');
      return new Kafka({
        brokers: cluster.brokers,
        clientId: 'modelwatch-fault-test',
        logLevel: logLevel.NOTHING,
        retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 5_000 },
      });
    },
  };
}

const FEATURES = [
  'MedInc',
  'HouseAge',
  'AveRooms',
  'AveBedrms',
  'Population',
  'AveOccup',
  'Latitude',
  'Longitude',
] as const;

/** The NannyML California analysis set as SPEC 3.2 predictions, and their labels a week later. */
export function californiaTraffic(): {
  predictions: Record<string, unknown>[];
  labels: Record<string, unknown>[];
} {
  const read = <T>(name: string) =>
    parse<T>(readFileSync(new URL(`../fixtures/drift/${name}`, import.meta.url)), {
      columns: true,
      skip_empty_lines: true,
    });
  const rows = read<
    Record<(typeof FEATURES)[number] | 'id' | 'timestamp' | 'y_pred' | 'y_pred_proba', string>
  >('california_housing_analysis.csv');
  const truth = new Map(
    read<{ id: string; clf_target: string }>('california_housing_analysis_gt.csv').map((r) => [
      r.id,
      Number(r.clf_target),
    ]),
  );
  const time = (r: { timestamp: string }) => Date.parse(`${r.timestamp.replace(' ', 'T')}Z`);
  return {
    predictions: rows.map((r) => ({
      prediction_id: `cal-${r.id}`,
      model_id: 'california',
      model_version: '1',
      timestamp: time(r),
      features: Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r.y_pred),
      score: Number(r.y_pred_proba),
    })),
    labels: rows.map((r) => ({
      prediction_id: `cal-${r.id}`,
      label: truth.get(r.id),
      timestamp: time(r) + 7 * 86_400_000,
    })),
  };
}

/**
 * Publishes in paced chunks with acks=all, like a real producer: keyed by prediction_id (SPEC
 * 3.1), one send per partition (a plain kafkajs send spanning brokers loses messages when a
 * leader dies mid-send: src/platform/kafka/partitioned-send.ts). A partition's send that fails
 * after the client's retries is sent again, so a message may be written twice (counts use FINAL).
 * Returns how many chunks needed a resend.
 */
export async function publishPaced(
  kafka: Kafka,
  topic: string,
  values: (object | string)[],
  options: { chunk: number; pauseMs: number; ends?: Map<string, number> },
): Promise<number> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const sender = createPartitionedSender(kafka, producer);
  let resent = 0;
  try {
    for (let i = 0; i < values.length; i += options.chunk) {
      let messages: Message[] = values
        .slice(i, i + options.chunk)
        .map((v) =>
          typeof v === 'string'
            ? { key: null, value: v }
            : { key: String((v as { prediction_id?: unknown }).prediction_id), value: JSON.stringify(v) },
        );
      for (let attempt = 0; messages.length > 0; attempt++) {
        if (attempt === 1) resent += 1;
        const sent = new Set<number>();
        try {
          await sender.send(topic, messages, {
            acks: -1,
            onSent: (ix, written) => {
              for (const x of ix) sent.add(x);
              // The partition's end after this send, as the leader acknowledged it.
              const key = `${topic}/${written.partition}`;
              const end = Number(written.baseOffset) + ix.length;
              options.ends?.set(key, Math.max(options.ends.get(key) ?? 0, end));
            },
          });
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        messages = messages.filter((_, x) => !sent.has(x));
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  } finally {
    await producer.disconnect();
  }
  return resent;
}

export type TopicMessage = KafkaMessage & { partition: number };

/** Every message of `topic` from the beginning to its current end, with its partition. */
export async function readTopic(kafka: Kafka, topic: string): Promise<TopicMessage[]> {
  const ends = await fetchTopicEnds(kafka, topic, { attempts: 120 });
  const remaining = new Map(ends.filter((p) => p.high !== p.low).map((p) => [p.partition, p.high]));
  const out: TopicMessage[] = [];
  if (remaining.size === 0) return out;
  const consumer = kafka.consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.push({ ...message, partition });
        if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
        if (remaining.size === 0) resolve();
        return Promise.resolve();
      },
    });
  });
  await consumer.disconnect();
  return out;
}

/**
 * Samples the lag of `groupId` on `topics` every half second: `published` (the producers'
 * acknowledged partition ends, `topic/partition` → end offset) minus the group's committed
 * offsets. The ends come from the producers, not from ListOffsets: kafkajs' admin keeps partition
 * leaders for 5 minutes and fetchTopicOffsets gives up on NOT_LEADER, which after a leader change
 * froze the samples for minutes. `until(n)` resolves when the group has committed `n` messages.
 */
export function watchLag(
  kafka: Kafka,
  groupId: string,
  topics: string[],
  published: ReadonlyMap<string, number>,
) {
  let admin = kafka.admin();
  // A failed sample gets a new admin: kafkajs' admin clients kept stale coordinators and leaders
  // for minutes after broker restarts.
  const renew = async () => {
    const old = admin;
    admin = kafka.admin();
    await old.disconnect().catch(() => undefined);
    await admin.connect().catch(() => undefined);
  };
  let peak = 0;
  let committed = 0;
  let stopped = false;
  // Per partition "committed/end" at the last sample, and the last failed sample: for a timeout's message.
  let detail = '';
  let lastError = '';
  const total = () =>
    [...published]
      .filter(([key]) => topics.some((t) => key.startsWith(`${t}/`)))
      .reduce((n, [, e]) => n + e, 0);
  const sample = async () => {
    const ends = total();
    const offsets = await admin.fetchOffsets({ groupId, topics });
    committed = offsets
      .flatMap((t) => t.partitions)
      .reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    peak = Math.max(peak, ends - committed);
    detail = offsets
      .flatMap((t) =>
        t.partitions.map(
          (p) =>
            `${t.topic.split('.').pop() ?? ''}/${p.partition}: ${p.offset}/${published.get(`${t.topic}/${p.partition}`) ?? 0}`,
        ),
      )
      .join(', ');
  };
  const loop = (async () => {
    await admin.connect();
    while (!stopped) {
      await sample().catch(async (err: unknown) => {
        // With its time: a sample that failed once long ago must not read as the current state.
        lastError = `${new Date().toISOString()} ${String(err)}`;
        await renew();
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await admin.disconnect();
  })();
  return {
    get peak() {
      return peak;
    },
    /** Messages the group had committed at the last sample. */
    get committed() {
      return committed;
    },
    /** Everything the producers had acknowledged on the topics up to now. */
    ends(): Promise<number> {
      return Promise.resolve(total());
    },
    /** Milliseconds until the group's committed offsets reach `target`. */
    async until(target: number, timeoutMs = 180_000): Promise<number> {
      const started = Date.now();
      while (committed < target) {
        if (Date.now() - started > timeoutMs)
          throw new Error(
            `group ${groupId} at ${committed} of ${target} after ${timeoutMs} ms (committed/end: ${detail}; last failed sample: ${lastError || 'none'})`,
          );
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return Date.now() - started;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
