import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createIdempotentSender, ensureTopics } from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { brokers, createTopics, producerIdOf, testKafka, uniqueName } from '../support/harness.js';
import { readTopicMessages } from '../support/triggers.js';

const logger = createLogger('silent', 'idempotent-sender-test');

/**
 * Every message of `topic` (to the end its partitions have now: the senders are disconnected, so
 * every send was acknowledged) with the producer id of its record batch (-1 unless idempotent).
 */
async function readWithProducer(topic: string): Promise<{ value: string; producerId: string }[]> {
  return (await readTopicMessages(topic)).map(({ message }) => ({
    value: message.value?.toString() ?? '',
    producerId: producerIdOf(message) ?? '?',
  }));
}

describe('the idempotent sender (dead letters)', () => {
  it('writes every one of many concurrent sends to one partition once', async () => {
    // kafkajs before 2.2 gave such sends one sequence number and the broker dropped all but a few
    // while every send resolved (tulios/kafkajs#1005).
    const topic = uniqueName('idempotent');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 1 }]);
    const sender = createIdempotentSender(testKafka(), logger);
    const sent: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sender.send(topic, [{ key: 'one-key', value: `m-${i}` }], { onSent: () => sent.push(i) }),
      ),
    );
    await sender.disconnect();
    const messages = await readWithProducer(topic);
    expect(messages.map((m) => m.value).sort()).toEqual(
      Array.from({ length: 40 }, (_, i) => `m-${i}`).sort(),
    );
    expect(sent).toHaveLength(40);
    expect(new Set(messages.map((m) => m.producerId)).size).toBe(1);
    expect(messages[0]?.producerId).not.toBe('-1');
  }, 60_000);

  it('replaces its producer after a failed send, so the next send cannot reuse a sequence the broker may hold', async () => {
    // A message larger than the topic takes fails its send (MESSAGE_TOO_LARGE).
    const refusing = uniqueName('refusing');
    await createTopics([
      { topic: refusing, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] },
    ]);
    const topic = uniqueName('accepting');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 1 }]);
    const kafka = new Kafka({
      brokers: brokers(),
      clientId: 'idempotent-sender-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
    });
    const sender = createIdempotentSender(kafka, logger);
    await sender.send(topic, [{ value: 'before' }]);
    await expect(sender.send(refusing, [{ value: 'x'.repeat(4096) }])).rejects.toThrow(/too large|larger/i);
    expect(sender.renewed).toBe(1);
    await sender.send(topic, [{ value: 'after' }]);
    await sender.disconnect();
    const messages = await readWithProducer(topic);
    expect(messages.map((m) => m.value)).toEqual(['before', 'after']);
    const [before, after] = messages.map((m) => m.producerId);
    expect(after).not.toBe(before);
    expect([before, after]).not.toContain('-1');
  }, 60_000);
});
