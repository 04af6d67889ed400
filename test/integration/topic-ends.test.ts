import { KafkaJSProtocolError, type Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ensureTopics, fetchTopicEnds } from '../../src/platform/kafka/index.js';
import { produce, testKafka, uniqueName } from '../support/harness.js';

/** The real client, with the first `failing` admins answering as a stale leader would. */
function staleFirstAdmins(kafka: Kafka, failing: number): { kafka: Kafka; admins: () => number } {
  let made = 0;
  const wrapped = Object.create(kafka) as Kafka;
  wrapped.admin = (config) => {
    const admin = kafka.admin(config);
    if (made++ < failing)
      admin.fetchTopicOffsets = () =>
        Promise.reject(new KafkaJSProtocolError('This server is not the leader for that topic-partition'));
    return admin;
  };
  return { kafka: wrapped, admins: () => made };
}

describe('fetchTopicEnds', () => {
  it('reads every partition end with a new admin after a failed attempt', async () => {
    const topic = uniqueName('ends');
    await ensureTopics(testKafka(), [{ topic, numPartitions: 3 }]);
    await produce(
      topic,
      Array.from({ length: 90 }, (_, i) => ({ i })),
      (i) => `k-${i}`,
    );
    const { kafka, admins } = staleFirstAdmins(testKafka(), 2);
    const ends = await fetchTopicEnds(kafka, topic, { delayMs: 50 });
    expect(admins()).toBe(3);
    expect(ends.map((p) => p.partition).sort()).toEqual([0, 1, 2]);
    expect(ends.reduce((sum, p) => sum + Number(p.high - p.low), 0)).toBe(90);
  });

  it('gives up after its attempts with the last error', async () => {
    const { kafka, admins } = staleFirstAdmins(testKafka(), 5);
    await expect(fetchTopicEnds(kafka, 'any-topic', { attempts: 3, delayMs: 10 })).rejects.toThrow(
      'not the leader',
    );
    expect(admins()).toBe(3);
  });
});
