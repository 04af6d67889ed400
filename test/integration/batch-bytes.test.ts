import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/observability/index.js';
import { createBatchConsumer, type SourceMessage } from '../../src/platform/kafka/index.js';
import { createTopics, produce, testKafka, uniqueName, waitFor } from '../support/harness.js';

/**
 * Batches bounded in bytes (issue 17): the shared batch consumer flushes once its items hold
 * `maxBytes`, whatever `maxRows` says, so ingest memory is bounded by bytes for any event size.
 * Real broker; the sink only records what it is given.
 */
describe('batch consumer bounded in bytes', () => {
  it('flushes at maxBytes, each message written once, in order per partition', async () => {
    const topic = uniqueName('bytes');
    await createTopics([{ topic, numPartitions: 2 }]);
    const count = 400;
    const body = 'x'.repeat(1_000);
    // One send per 10 messages: Kafka returns whole record batches, the overshoot past maxBytes.
    for (let i = 0; i < count; i += 10)
      await produce(
        topic,
        Array.from({ length: 10 }, (_, j) => `${String(i + j).padStart(4, '0')}${body}`),
        (j) => `k${i + j}`,
      );
    const maxBytes = 16 * 1024;
    const written: SourceMessage[][] = [];
    const consumer = createBatchConsumer<SourceMessage>({
      kafka: testKafka(),
      groupId: uniqueName('bytes-group'),
      topics: [topic],
      logger: createLogger('warn', 'batch-bytes-test'),
      sink: {
        decode: (source) => source,
        write: (items) => {
          written.push([...items]);
          return Promise.resolve();
        },
        reject: (item) => item,
        size: (item) => item.message.value?.length ?? 0,
      },
      maxRows: 100_000,
      maxBytes,
      maxMs: 3_000,
    });
    await consumer.start();
    try {
      await waitFor('every message written', () =>
        Promise.resolve(written.flat().length >= count ? true : undefined),
      );
    } finally {
      await consumer.stop();
    }
    const bytes = written.map((batch) => batch.reduce((n, s) => n + (s.message.value?.length ?? 0), 0));
    // Flushed by size (the row limit is never reached; the 3 s timer flushes only the rest): none
    // far past the bound (a fetch of at most maxBytes per partition is appended whole before the
    // check), most at or past it.
    for (const b of bytes) expect(b).toBeLessThanOrEqual(3 * maxBytes);
    expect(written.length).toBeGreaterThanOrEqual(Math.floor((count * 1_004) / (3 * maxBytes)));
    expect(bytes.filter((b) => b >= maxBytes).length).toBeGreaterThanOrEqual(written.length / 2);
    const values = written.flat().map((s) => s.message.value?.toString().slice(0, 4));
    expect(new Set(values).size).toBe(count);
    expect(values).toHaveLength(count);
    for (const partition of [0, 1]) {
      const offsets = written
        .flat()
        .filter((s) => s.partition === partition)
        .map((s) => Number(s.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
  });
});
