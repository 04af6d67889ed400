import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/observability/index.js';
import { createBatchConsumer, type SourceMessage } from '../../src/platform/kafka/index.js';
import { createTopics, produce, testKafka, uniqueName, waitFor } from '../support/harness.js';

/**
 * A clean stop writes and commits what is buffered (real broker). kafkajs refuses commits once its
 * consumer is stopped, so the final commit must come before the stop: otherwise every restart
 * read the last batch again and logged a failed commit.
 */
const COUNT = 50;

/** A new two-partition topic holding messages m0..m49, a group name, and a connected admin for `check`. */
async function withFiftyMessages(
  name: string,
  check: (run: { topic: string; groupId: string; admin: Admin }) => Promise<void>,
): Promise<void> {
  const topic = uniqueName(name);
  const groupId = uniqueName(`${name}-group`);
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await createTopics([{ topic, numPartitions: 2 }]);
    await produce(
      topic,
      Array.from({ length: COUNT }, (_, i) => `m${i}`),
      (i) => `k${i}`,
    );
    await check({ topic, groupId, admin });
  } finally {
    await admin.disconnect();
  }
}

/** A consumer of `topic` that keeps what it decodes in `decoded` and writes with `write`; flushes at `maxRows` only. */
function stopTestConsumer(
  topic: string,
  groupId: string,
  decoded: SourceMessage[],
  write: (items: SourceMessage[]) => Promise<void>,
  maxRows: number,
) {
  return createBatchConsumer<SourceMessage>({
    kafka: testKafka(),
    groupId,
    topics: [topic],
    logger: createLogger('warn', 'consumer-stop-test'),
    sink: { decode: (source) => (decoded.push(source), source), write, reject: (item) => item },
    maxRows,
    maxMs: 600_000,
  });
}

const allMessages = () => Array.from({ length: COUNT }, (_, i) => `m${i}`).sort();

describe('batch consumer stop', () => {
  it('writes and commits the buffered messages before leaving the group', async () => {
    await withFiftyMessages('stop', async ({ topic, groupId, admin }) => {
      const count = COUNT;
      const decoded: SourceMessage[] = [];
      const written: SourceMessage[] = [];
      // Nothing flushes on its own: what is written is what stop() flushed.
      const consumer = stopTestConsumer(
        topic,
        groupId,
        decoded,
        (items) => (written.push(...items), Promise.resolve()),
        100_000,
      );
      await consumer.start();
      await waitFor('every message buffered', () =>
        Promise.resolve(decoded.length >= count ? true : undefined),
      );
      expect(written).toHaveLength(0);
      await consumer.stop();

      expect(written.map((s) => s.message.value?.toString()).sort()).toEqual(allMessages());
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, p.offset]));
      for (const end of ends) expect(byPartition.get(end.partition)).toBe(end.offset);
    });
  });

  it('commits a write that ends after stop() was called, and the final flush after it', async () => {
    await withFiftyMessages('stop-in-flight', async ({ topic, groupId, admin }) => {
      const decoded: SourceMessage[] = [];
      const written: SourceMessage[] = [];
      let release = () => {};
      let writeStarted = () => {};
      const firstWrite = new Promise<void>((resolve) => (writeStarted = resolve));
      const held = new Promise<void>((resolve) => (release = resolve));
      // Every write is held until the test releases it: the first is in flight at stop().
      const hold = async (items: SourceMessage[]) => {
        writeStarted();
        await held;
        written.push(...items);
      };
      const consumer = stopTestConsumer(topic, groupId, decoded, hold, 10);
      await consumer.start();
      await firstWrite;
      // The rest waits in the buffer for the write slot: stop() flushes it after the held write.
      await waitFor('every message buffered', () =>
        Promise.resolve(decoded.length >= COUNT ? true : undefined),
      );
      setTimeout(release, 300);
      await consumer.stop();

      expect(written.map((s) => s.message.value?.toString()).sort()).toEqual(allMessages());

      // Each partition's commit is one past its highest written offset, and nothing below it was skipped.
      const offsets = new Map<number, Set<number>>();
      for (const s of written) {
        const seen = offsets.get(s.partition) ?? new Set<number>();
        offsets.set(s.partition, seen.add(Number(s.offset)));
      }
      expect(offsets.size).toBeGreaterThan(0);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      for (const [partition, seen] of offsets) {
        const end = Math.max(...seen) + 1;
        expect(byPartition.get(partition), `partition ${partition}`).toBe(end);
        expect(seen.size).toBe(end);
      }
    });
  });
});
