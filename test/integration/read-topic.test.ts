import { describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/platform/kafka/index.js';
import { testKafka, uniqueName } from '../support/harness.js';
import { readTopic } from '../support/triggers.js';

/**
 * The tests' topic reader against the real broker: a message whose transaction is not marked
 * committed yet when the read starts is waited for, not missed. Ended at the admin's end (the
 * last stable offset, 0 here) the read returned nothing at once.
 */
describe('readTopic', () => {
  it('waits for a transaction still open when the read starts and returns its committed message', async () => {
    const kafka = testKafka();
    const topic = uniqueName('read-topic');
    await ensureTopics(kafka, [{ topic, numPartitions: 2 }]);
    const producer = kafka.producer({
      transactionalId: uniqueName('read-topic-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    try {
      const tx = await producer.transaction();
      await tx.send({
        topic,
        acks: -1,
        messages: [{ partition: 1, value: JSON.stringify({ trigger_id: 'late' }) }],
      });
      const read = readTopic(topic);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await tx.commit();
      expect((await read).map((m) => [m.partition, m.offset, m.value['trigger_id']])).toEqual([
        [1, '0', 'late'],
      ]);
    } finally {
      await producer.disconnect();
    }
  }, 60_000);
});
