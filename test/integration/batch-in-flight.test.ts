import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { createLogger } from '../../src/platform/observability/index.js';
import {
  createBatchConsumer,
  type BatchConsumer,
  type SourceMessage,
} from '../../src/platform/kafka/index.js';
import {
  createTopics,
  produce,
  testKafka,
  uniqueName,
  waitFor,
  waitForGroupAtEnd,
} from '../support/harness.js';

/**
 * Two batch writes in flight (issue 17), real broker: a later batch may be written while an
 * earlier one fails and retries, but its offsets are never committed before the earlier
 * batch's. The sink records the offsets of every write that succeeded; the first batch (the one
 * holding offset 0) fails while `blocked`.
 */
describe('batch consumer with two writes in flight', () => {
  const count = 200;
  let admin: Admin;

  beforeAll(async () => {
    admin = testKafka().admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  async function setUp() {
    const topic = uniqueName('in-flight');
    await createTopics([{ topic, numPartitions: 1 }]);
    const body = 'x'.repeat(1_000);
    // One send per 10 messages, so that batches of ~16 KB form.
    for (let i = 0; i < count; i += 10)
      await produce(
        topic,
        Array.from({ length: 10 }, () => body),
        (j) => `k${i + j}`,
      );
    return { topic, groupId: uniqueName('in-flight-group') };
  }

  /** A consumer whose writes of the batch holding offset 0 fail while `state.blocked`. */
  function consumer(topic: string, groupId: string, state: { blocked: boolean; failures: number }) {
    const stored = new Map<number, number>();
    const batch = createBatchConsumer<SourceMessage>({
      kafka: testKafka(),
      groupId,
      topics: [topic],
      logger: createLogger('silent', 'batch-in-flight-test'),
      sink: {
        decode: (source) => source,
        write: (items) => {
          if (state.blocked && items.some((s) => s.offset === '0')) {
            state.failures += 1;
            return Promise.reject(new Error('the store is down'));
          }
          for (const s of items) stored.set(Number(s.offset), (stored.get(Number(s.offset)) ?? 0) + 1);
          return Promise.resolve();
        },
        reject: (item) => item,
        size: (item) => item.message.value?.length ?? 0,
      },
      maxRows: 100_000,
      maxBytes: 16 * 1024,
      maxMs: 600_000,
      maxInFlight: 2,
    });
    return { batch, stored };
  }

  /** The group's committed offset of partition 0 (-1: none). */
  async function committed(topic: string, groupId: string): Promise<number> {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  }

  /** Waits until a later batch was written and the first one failed twice more after that. */
  async function laterBatchWrittenWhileFirstFails(
    consumer: { batch: BatchConsumer; stored: Map<number, number> },
    state: { failures: number },
  ): Promise<void> {
    await waitFor('a later batch written', () =>
      Promise.resolve(consumer.stored.size > 0 ? true : undefined),
    );
    const failuresThen = state.failures;
    await waitFor('two more failed attempts of the first batch', () =>
      Promise.resolve(state.failures >= failuresThen + 2 ? true : undefined),
    );
    expect(consumer.stored.has(0)).toBe(false);
    expect(consumer.batch.degraded).toBe(true);
  }

  function expectEveryOffsetOnce(stored: Map<number, number>): void {
    expect([...stored.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
  }

  /** A consumer (as above) that has started and has a later batch written while the first fails. */
  async function startedWhileFirstFails(
    topic: string,
    groupId: string,
    state: { blocked: boolean; failures: number },
  ) {
    const c = consumer(topic, groupId, state);
    await c.batch.start();
    try {
      await laterBatchWrittenWhileFirstFails(c, state);
    } catch (err) {
      await c.batch.stop();
      throw err;
    }
    return c;
  }

  it('commits nothing past a batch that fails, and everything once it is written', async () => {
    const { topic, groupId } = await setUp();
    const state = { blocked: true, failures: 0 };
    const c = await startedWhileFirstFails(topic, groupId, state);
    try {
      expect(await committed(topic, groupId)).toBeLessThanOrEqual(0);

      state.blocked = false;
      await waitForGroupAtEnd(groupId, topic);
    } finally {
      await c.batch.stop();
    }
    expectEveryOffsetOnce(c.stored);
    expect(c.batch.degraded).toBe(false);
  });

  it('commits nothing past a batch given up on shutdown; the next member reads it again', async () => {
    const { topic, groupId } = await setUp();
    const state = { blocked: true, failures: 0 };
    const first = await startedWhileFirstFails(topic, groupId, state);
    await first.batch.stop();
    // The later batch was written, yet nothing is committed: it is read again.
    expect(first.stored.size).toBeGreaterThan(0);
    expect(await committed(topic, groupId)).toBeLessThanOrEqual(0);

    state.blocked = false;
    const next = consumer(topic, groupId, state);
    await next.batch.start();
    try {
      await waitForGroupAtEnd(groupId, topic);
    } finally {
      await next.batch.stop();
    }
    expectEveryOffsetOnce(next.stored);
  });
});
