import type { Consumer, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createBatchConsumer } from '../../../src/platform/kafka/batch-consumer.js';
import { createLogger } from '../../../src/platform/observability/index.js';

/** A kafkajs consumer that cannot connect (Kafka unreachable), counting the listeners added to it. */
function unreachableConsumer() {
  const listeners = new Map<string, number>();
  const events = {
    REBALANCING: 'rebalancing',
    GROUP_JOIN: 'group_join',
    COMMIT_OFFSETS: 'commit',
    CRASH: 'crash',
  };
  const consumer = {
    events,
    on(event: string) {
      listeners.set(event, (listeners.get(event) ?? 0) + 1);
      return () => listeners.set(event, (listeners.get(event) ?? 1) - 1);
    },
    connect: () => Promise.reject(new Error('Connection error: ECONNREFUSED')),
  };
  return { consumer: consumer as unknown as Consumer, listeners };
}

describe('batch consumer start retried while Kafka is unreachable', () => {
  it('adds its event listeners to the member once, not once per attempt', async () => {
    const { consumer, listeners } = unreachableConsumer();
    const kafka = { consumer: () => consumer } as unknown as Kafka;
    const batches = createBatchConsumer({
      kafka,
      groupId: 'g',
      topics: ['t'],
      logger: createLogger('silent'),
      sink: { decode: (m) => m, write: () => Promise.resolve(), reject: (item) => item },
    });
    for (let attempt = 0; attempt < 12; attempt++)
      await expect(batches.start()).rejects.toThrow('ECONNREFUSED');
    expect(Object.fromEntries(listeners)).toEqual({ rebalancing: 1, commit: 1, crash: 1, group_join: 1 });
  });
});
