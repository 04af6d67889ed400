import {
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  Partitioners,
  type Consumer,
  type Kafka,
} from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createBatchConsumer, ensureTopics, type BatchConsumer } from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { produce, testKafka, uniqueName, waitFor, waitForGroupAtEnd } from '../support/harness.js';

const MESSAGES = 3_000;

/**
 * The real client and broker, with the first kafkajs consumer made faulty by `fault`: the batch
 * consumer must replace that member with a new one. (The faults themselves come from kafkajs
 * 2.2.4 under broker restarts, which a single broker cannot produce on demand: issue 13.)
 */
function firstConsumerFaulty(kafka: Kafka, fault: (consumer: Consumer) => void): Kafka {
  let made = 0;
  const wrapped = Object.create(kafka) as Kafka;
  wrapped.consumer = (config) => {
    const consumer = kafka.consumer(config);
    if (made++ === 0) fault(consumer);
    return consumer;
  };
  return wrapped;
}

/**
 * Produces 100 messages every 100 ms (ids from `m-${MESSAGES}` on), faster than a member whose
 * every commit takes a second can commit them, until `stop` resolves with how many were sent.
 */
function keepProducing(topic: string): { stop: () => Promise<number> } {
  const producer = testKafka().producer({ createPartitioner: Partitioners.DefaultPartitioner });
  let sent = 0;
  let running = true;
  const loop = (async () => {
    await producer.connect();
    while (running) {
      const ids = Array.from({ length: 100 }, (_, i) => `m-${MESSAGES + sent + i}`);
      await producer.send({
        topic,
        acks: -1,
        messages: ids.map((id) => ({ key: id, value: JSON.stringify({ id }) })),
      });
      sent += ids.length;
      await sleep(100);
    }
    await producer.disconnect();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return sent;
    },
  };
}

async function consumeAll(
  kafka: Kafka,
  options: { decodeFault?: (offset: string) => void; maxInFlight?: number } = {},
): Promise<{ consumer: BatchConsumer; written: Set<string>; topic: string; groupId: string }> {
  const topic = uniqueName('rebuild');
  const groupId = `${topic}-group`;
  await ensureTopics(testKafka(), [{ topic, numPartitions: 3 }]);
  await produce(
    topic,
    Array.from({ length: MESSAGES }, (_, i) => ({ id: `m-${i}` })),
    (i) => `m-${i}`,
  );
  const written = new Set<string>();
  const consumer = createBatchConsumer<string>({
    kafka,
    groupId,
    topics: [topic],
    logger: createLogger('error', 'consumer-rebuild-test'),
    maxRows: 200,
    maxMs: 200,
    sessionTimeoutMs: 6_000,
    commitStallMs: 3_000,
    maxInFlight: options.maxInFlight ?? 1,
    sink: {
      decode: ({ offset, message }) => {
        options.decodeFault?.(offset);
        return (JSON.parse(String(message.value)) as { id: string }).id;
      },
      write: (items) => {
        for (const id of items) written.add(id);
        return Promise.resolve();
      },
      reject: (item) => item,
    },
  });
  await consumer.start();
  return { consumer, written, topic, groupId };
}

describe('the batch consumer replaces a kafkajs consumer that cannot go on', () => {
  it('rebuilds the member when its commits stall (kafkajs kept committing to a moved coordinator) while input keeps flowing, and commits everything', async () => {
    const kafka = firstConsumerFaulty(testKafka(), (consumer) => {
      // As against a former coordinator: each commit spends kafkajs' retry budget, then fails.
      consumer.commitOffsets = async () => {
        await sleep(1_000);
        throw new KafkaJSProtocolError('This is not the correct coordinator for this group');
      };
    });
    // Two batches in flight and a backlog that never drains while commits fail: a batch is always
    // pending (the stall check waited for none to be, and never ran).
    const { consumer, written, topic, groupId } = await consumeAll(kafka, { maxInFlight: 2 });
    const input = keepProducing(topic);
    try {
      await waitFor(
        'the consumer rebuilt while input flows',
        () => Promise.resolve(consumer.rebuilds > 0 || undefined),
        30_000,
      );
      const produced = await input.stop();
      await waitForGroupAtEnd(groupId, topic, 90_000);
      expect(written.size).toBe(MESSAGES + produced);
      expect(consumer.rebuilds).toBe(1);
      expect(consumer.degraded).toBe(false);
    } finally {
      await input.stop();
      await consumer.stop();
    }
  }, 150_000);

  it('rebuilds the member after a crash kafkajs does not restart, and reads on from the last commit', async () => {
    let thrown = 0;
    const { consumer, written, topic, groupId } = await consumeAll(testKafka(), {
      decodeFault: (offset) => {
        // Once, mid-stream: kafkajs stops a consumer for good after a non-retriable error.
        if (offset === '500' && thrown === 0) {
          thrown += 1;
          throw new KafkaJSNonRetriableError('injected');
        }
      },
    });
    try {
      await waitFor(
        'the consumer rebuilt',
        () => Promise.resolve(consumer.rebuilds > 0 || undefined),
        60_000,
      );
      await waitForGroupAtEnd(groupId, topic, 90_000);
      expect(thrown).toBe(1);
      expect(written.size).toBe(MESSAGES);
      expect(consumer.rebuilds).toBe(1);
      expect(consumer.degraded).toBe(false);
    } finally {
      await consumer.stop();
    }
  }, 150_000);
});
