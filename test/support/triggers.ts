/** Test helpers for the retrain triggers: read the retrain topic, PUT with the admin key. */
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

/**
 * Every message on the topic, read from the start with a fresh group (read_committed, the kafkajs
 * default), up to the end each partition has now. Ends are offsets, and the publisher's
 * transaction markers take offsets too, so reading is the only way to count messages.
 *
 * "Now" is the later of two ends: the admin's (the last stable offset: kafkajs lists offsets
 * read_committed) and the high watermark of the partition's first fetched batch. A commit
 * returns before the coordinator has written its markers, so a transaction committed just
 * before this call can still sit above the last stable offset: read to that end alone, it was
 * missed (a zombie-publisher test saw its owner's committed message missing, under load).
 */
export async function readTopic(topic: string): Promise<TopicMessage[]> {
  const admin = testKafka().admin();
  await admin.connect();
  const ends = new Map(
    (await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect())).map((o) => [
      o.partition,
      BigInt(o.high),
    ]),
  );
  const messages: TopicMessage[] = [];
  const position = new Map<number, bigint>();
  const done = () => [...ends].every(([p, end]) => end === 0n || (position.get(p) ?? 0n) >= end);
  if (done()) return messages;
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  const highWatermarkSeen = new Set<number>();
  consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
    if (highWatermarkSeen.has(payload.partition)) return;
    highWatermarkSeen.add(payload.partition);
    const highWatermark = BigInt(payload.highWatermark);
    if (highWatermark > (ends.get(payload.partition) ?? 0n)) ends.set(payload.partition, highWatermark);
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    position.set(payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        if (BigInt(message.offset) < (ends.get(partition) ?? 0n)) {
          messages.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: parseValue(message.value),
          });
        }
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
  return messages.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
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
