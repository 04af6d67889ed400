import { Kafka, KafkaJSError, logLevel, type Message, type Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createIdempotentSender, ensureTopics, readPartitionsFrom } from '../../src/platform/kafka/index.js';
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

/**
 * The broker's client, except that while `losing` is set its producers' sends are written and
 * then reported failed, as when a leader dies after appending a batch and before acknowledging it.
 */
function losingAcknowledgements(real: Kafka): { kafka: Kafka; losing: { on: boolean } } {
  const losing = { on: false };
  const kafka = Object.create(real) as Kafka;
  kafka.producer = (config) => {
    const producer: Producer = real.producer(config);
    const send = producer.send.bind(producer);
    producer.send = async (record) => {
      const written = await send(record);
      if (losing.on) throw new KafkaJSError('the acknowledgement was lost (test)', { retriable: true });
      return written;
    };
    return producer;
  };
  return { kafka, losing };
}

/** `count` messages into one partition, in sends of at most 1,000. */
async function fillPartition(
  topic: string,
  partition: number,
  count: number,
  value: (i: number) => string,
): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  try {
    for (let first = 0; first < count; first += 1_000)
      await producer.send({
        topic,
        messages: Array.from({ length: Math.min(1_000, count - first) }, (_, i) => ({
          value: value(first + i),
          partition,
        })),
      });
  } finally {
    await producer.disconnect();
  }
}

const idHeader = (message: { headers?: Message['headers'] }) => message.headers?.['id']?.toString();

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

  it('after a send that wrote but failed, the retry skips what it finds written (identify)', async () => {
    const topic = uniqueName('in-doubt');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 3 }]);
    const { kafka, losing } = losingAcknowledgements(testKafka());
    const sender = createIdempotentSender(kafka, logger, { identify: idHeader });
    await sender.send(topic, [{ value: 'earlier', headers: { id: 'earlier' } }]);
    // No keys: each send of a message may pick another partition, as letters of keyless events do.
    const letters = Array.from({ length: 8 }, (_, i) => ({ value: `letter-${i}`, headers: { id: `l${i}` } }));
    losing.on = true;
    await expect(sender.send(topic, letters)).rejects.toThrow(/acknowledgement was lost/);
    losing.on = false;
    expect(sender.renewed).toBe(1);
    const reported: number[] = [];
    const extra = { value: 'new', headers: { id: 'new' } };
    await sender.send(topic, [...letters, extra], { onSent: (indices) => reported.push(...indices) });
    await sender.disconnect();
    expect(
      reported.sort((a, b) => a - b),
      'every message reported sent, found or written',
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const values = (await readWithProducer(topic)).map((m) => m.value).sort();
    expect(values).toEqual(['earlier', ...letters.map((l) => l.value), 'new'].sort());
  }, 60_000);

  it('reads partitions from given offsets to their ends', async () => {
    const topic = uniqueName('from-offsets');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 2 }]);
    for (const partition of [0, 1]) await fillPartition(topic, partition, 5, (i) => `p${partition}-${i}`);
    const read = await readPartitionsFrom(testKafka(), topic, new Map([[0, 3n]]));
    expect(read.messages.map((m) => m.message.value?.toString()).sort()).toEqual(['p0-3', 'p0-4']);
    expect([...read.ends].sort()).toEqual([
      [0, 5n],
      [1, 5n],
    ]);
    expect((await readPartitionsFrom(testKafka(), topic, new Map([[1, 5n]]))).messages).toEqual([]);
  }, 60_000);

  it('reads the tail of a long partition whole (a fetch from its start may be in flight when the seek is made)', async () => {
    const topic = uniqueName('long-partition');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 1 }]);
    await fillPartition(topic, 0, 4_000, (i) => `m-${i}`);
    for (const from of [3_990n, 10n]) {
      const read = await readPartitionsFrom(testKafka(), topic, new Map([[0, from]]));
      const offsets = read.messages.map((m) => Number(m.message.offset)).sort((a, b) => a - b);
      expect(offsets).toEqual(Array.from({ length: 4_000 - Number(from) }, (_, i) => Number(from) + i));
    }
  }, 60_000);
});
