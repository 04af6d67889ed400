import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/observability/index.js';
import { createBatchConsumer, type SourceMessage } from '../../src/platform/kafka/index.js';
import { produce, testKafka, uniqueName, waitFor } from '../support/harness.js';

/**
 * A clean stop writes and commits what is buffered (real broker). kafkajs refuses commits once its
 * consumer is stopped, so the final commit must come before the stop: otherwise every restart
 * read the last batch again and logged a failed commit.
 */
describe('batch consumer stop', () => {
  it('writes and commits the buffered messages before leaving the group', async () => {
    const topic = uniqueName('stop');
    const groupId = uniqueName('stop-group');
    const admin = testKafka().admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const count = 50;
      await produce(
        topic,
        Array.from({ length: count }, (_, i) => `m${i}`),
        (i) => `k${i}`,
      );
      const decoded: SourceMessage[] = [];
      const written: SourceMessage[] = [];
      const consumer = createBatchConsumer<SourceMessage>({
        kafka: testKafka(),
        groupId,
        topics: [topic],
        logger: createLogger('warn', 'consumer-stop-test'),
        sink: {
          decode: (source) => (decoded.push(source), source),
          write: (items) => (written.push(...items), Promise.resolve()),
          reject: (item) => item,
        },
        // Nothing flushes on its own: what is written is what stop() flushed.
        maxRows: 100_000,
        maxMs: 600_000,
      });
      await consumer.start();
      await waitFor('every message buffered', () =>
        Promise.resolve(decoded.length >= count ? true : undefined),
      );
      expect(written).toHaveLength(0);
      await consumer.stop();

      expect(written.map((s) => s.message.value?.toString()).sort()).toEqual(
        Array.from({ length: count }, (_, i) => `m${i}`).sort(),
      );
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
      for (const end of ends) expect(byPartition.get(end.partition)).toBe(end.offset);
    } finally {
      await admin.disconnect();
    }
  });
});
