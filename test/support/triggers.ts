/** Test helpers for the retrain triggers: read the retrain topic, PUT with the admin key. */
import type { KafkaMessage } from 'kafkajs';
import { triggers, type TriggerPayload } from '../../src/triggers/index.js';
import { testKafka, uniqueName, waitFor } from './harness.js';
import type { TestService } from './service.js';

export interface TopicMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Record<string, unknown>;
}

function parseValue(value: Buffer | null): Record<string, unknown> {
  const text = value?.toString() ?? 'null';
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { raw: text };
  }
}

/** The part of kafkajs 2.2.4's (private) Cluster that lists a topic's offsets. */
interface OffsetCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number }[];
  fetchTopicsOffset(
    topics: { topic: string; fromBeginning: boolean; partitions: { partition: number }[] }[],
  ): Promise<{ partitions: { partition: number; offset: string }[] }[]>;
}

/**
 * Each partition's high watermark (read_uncommitted ListOffsets). kafkajs' admin lists offsets
 * read_committed only (its cluster gets no isolation level, and listOffsets defaults to
 * READ_COMMITTED), which ends at the last stable offset; its private cluster factory takes the
 * level, and kafkajs is pinned.
 */
async function highWatermarks(topic: string): Promise<Map<number, bigint>> {
  const kafka = testKafka() as unknown as Record<symbol, (options: object) => OffsetCluster>;
  const factory = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  if (!factory) throw new Error('kafkajs has no private:Kafka:createCluster: was it upgraded?');
  const cluster = kafka[factory]!({ allowAutoTopicCreation: false, isolationLevel: 0 });
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    const partitions = cluster.findTopicPartitionMetadata(topic).map((p) => ({ partition: p.partitionId }));
    const [listed] = await cluster.fetchTopicsOffset([{ topic, fromBeginning: false, partitions }]);
    return new Map((listed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await cluster.disconnect();
  }
}

/**
 * Every message on the topic as kafkajs gives it (value, key, headers), read from the start with
 * a fresh group (read_committed, the kafkajs default), up to the end each partition has now.
 * Ends are offsets, and the publisher's transaction markers take offsets too, so reading is the
 * only way to count messages.
 *
 * The ends are high watermarks, not the admin's last stable offsets: a commit returns before the
 * coordinator has written its markers, so a transaction committed just before this call can
 * still sit above the last stable offset, and a read to that end missed it (a zombie-publisher
 * test saw its owner's committed message missing, under load). The read waits for the markers.
 */
export async function readTopicMessages(
  topic: string,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const ends = await highWatermarks(topic);
  const messages: { partition: number; message: KafkaMessage }[] = [];
  const position = new Map<number, bigint>();
  const done = () => [...ends].every(([p, end]) => end === 0n || (position.get(p) ?? 0n) >= end);
  if (done()) return messages;
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    position.set(payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        if (BigInt(message.offset) < (ends.get(partition) ?? 0n)) messages.push({ partition, message });
        return Promise.resolve();
      },
    });
    await waitFor(
      `${topic} read to its end`,
      () =>
        done()
          ? Promise.resolve(true)
          : Promise.reject(new Error(`ends ${[...ends].join(' ')}; read to ${[...position].join(' ')}`)),
      30_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return messages.sort(
    (a, b) => a.partition - b.partition || Number(a.message.offset) - Number(b.message.offset),
  );
}

/** Every message on the topic, its value parsed as JSON (see readTopicMessages). */
export async function readTopic(topic: string): Promise<TopicMessage[]> {
  return (await readTopicMessages(topic)).map(({ partition, message }) => ({
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    value: parseValue(message.value),
  }));
}

/** Messages on the topic (read, not offsets: see readTopic). */
export async function messageCount(topic: string): Promise<number> {
  return (await readTopic(topic)).length;
}

export async function put(
  service: TestService,
  url: string,
  payload: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await service.app.inject({
    method: 'PUT',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

/** Waits until the model is registered (its first predictions seen), so its policy can be set. */
export async function waitForModel(service: TestService, model: string): Promise<void> {
  await waitFor(`model ${model} known`, async () =>
    (await service.get(`/api/v1/models/${model}/policy`)).status === 200 ? true : undefined,
  );
}

/**
 * The stored triggers of a model, as published (without the list's delivery fields). Read from the
 * store, not from `runOnce()`: the service's own loop may have stored them first.
 */
export async function storedTriggers(service: TestService, model: string): Promise<TriggerPayload[]> {
  const listed = await service.use(triggers).store.list({ modelId: model, limit: 100 });
  return listed.map(({ published: _p, published_at: _a, partition: _n, offset: _o, ...payload }) => payload);
}
