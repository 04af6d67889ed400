import { describe, expect, it } from 'vitest';
import { ModelwatchError } from '../../src/platform/errors.js';
import { createBatchConsumer, type SourceMessage } from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { createTopics, produce, testKafka, uniqueName, waitFor } from '../support/harness.js';

/**
 * The lag the consumer reports (real broker): it must keep growing while writes fail, when no
 * batch arrives to report it, and a partition another member took must stop being reported.
 */
describe('consumer lag', () => {
  it('grows while every write fails, and a partition given to another member is no longer reported', async () => {
    const topic = uniqueName('lag');
    const groupId = uniqueName('lag-group');
    await createTopics([{ topic, numPartitions: 2 }]);
    const logger = createLogger('warn', 'consumer-lag-test');
    let failing = true;
    const lags = new Map<number, number>();
    const gone: number[] = [];
    const sink = {
      decode: (source: SourceMessage) => source,
      // An outage: every write fails with a retryable error until `failing` is cleared.
      write: () =>
        failing
          ? Promise.reject(new ModelwatchError('CLICKHOUSE_UNAVAILABLE', 'down', true))
          : Promise.resolve(),
      reject: (item: SourceMessage) => item,
    };
    const first = createBatchConsumer<SourceMessage>({
      kafka: testKafka(),
      groupId,
      topics: [topic],
      logger,
      sink,
      maxRows: 10,
      maxMs: 100,
      sessionTimeoutMs: 6_000,
      lagIntervalMs: 300,
      onLag: (_, partition, lag) => lags.set(partition, lag),
      onLagGone: (_, partition) => gone.push(partition),
    });
    const second = createBatchConsumer<SourceMessage>({
      kafka: testKafka(),
      groupId,
      topics: [topic],
      logger,
      sink,
      sessionTimeoutMs: 6_000,
    });
    try {
      await first.start();
      const keyed = (n: number, from: number) =>
        produce(
          topic,
          Array.from({ length: n }, (_, i) => `m${from + i}`),
          (i) => `k${from + i}`,
        );
      await keyed(100, 0);
      await waitFor('a lag of 100 reported', () => Promise.resolve(total(lags) >= 100 ? true : undefined));
      // The write of the first batch is being retried: the fetches wait, yet the lag follows the ends.
      await keyed(400, 100);
      await waitFor('a lag of 500 reported', () => Promise.resolve(total(lags) >= 500 ? true : undefined));
      expect(total(lags)).toBe(500);

      failing = false;
      await waitFor('caught up', () => Promise.resolve(total(lags) === 0 ? true : undefined));
      await second.start();
      await waitFor('a partition no longer reported', () =>
        Promise.resolve(gone.length > 0 ? true : undefined),
      );
      expect(new Set(gone).size, 'one of the two partitions moved, the other stayed').toBe(1);
    } finally {
      await second.stop();
      await first.stop();
    }
  }, 90_000);
});

function total(lags: Map<number, number>): number {
  return [...lags.values()].reduce((sum, lag) => sum + lag, 0);
}
