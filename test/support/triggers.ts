/** Test helpers for the retrain triggers: read the retrain topic, PUT with the admin key. */
import { testKafka, uniqueName, waitFor } from './harness.js';
import type { TestService } from './service.js';

export interface TopicMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Record<string, unknown>;
}

/** Messages on a topic (sum over partitions of high − low); no consumer involved. */
export async function messageCount(topic: string): Promise<number> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every message on the topic, read from the start with a fresh group. */
export async function readTopic(topic: string): Promise<TopicMessage[]> {
  const total = await messageCount(topic);
  const messages: TopicMessage[] = [];
  if (total === 0) return messages;
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        messages.push({
          partition,
          offset: message.offset,
          key: message.key?.toString() ?? null,
          value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
        });
        return Promise.resolve();
      },
    });
    await waitFor(
      `${total} messages read from ${topic}`,
      () => Promise.resolve(messages.length >= total ? true : undefined),
      30_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset));
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
