import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createBatchConsumer } from '../../../src/platform/kafka/batch-consumer.js';
import { createLogger } from '../../../src/platform/observability/index.js';

type Listener = (event: { payload: unknown }) => void;

/** A kafkajs consumer that joins at once and hands its `eachBatch` to the test, which plays the fetcher. */
function fakeMember() {
  const listeners = new Map<string, Listener[]>();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const member = {
    events: {
      REBALANCING: 'rebalancing',
      GROUP_JOIN: 'group_join',
      COMMIT_OFFSETS: 'commit',
      CRASH: 'crash',
    },
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () =>
        listeners.set(
          event,
          (listeners.get(event) ?? []).filter((l) => l !== listener),
        );
    },
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run(options: { eachBatch: typeof eachBatch }) {
      eachBatch = options.eachBatch;
      const assignment = { memberAssignment: { t: [0] } };
      setImmediate(() => listeners.get('group_join')?.forEach((l) => l({ payload: assignment })));
      return Promise.resolve();
    },
    commitOffsets: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
  };
  const deliver = (offsets: number[], heartbeat: () => Promise<void>) =>
    eachBatch!({
      batch: {
        topic: 't',
        partition: 0,
        highWatermark: '100',
        messages: offsets.map((o) => ({ offset: String(o), value: Buffer.from(`m${o}`) })),
      },
      isStale: () => false,
      heartbeat,
    } as unknown as EachBatchPayload);
  return { kafka: { consumer: () => member as unknown as Consumer } as unknown as Kafka, deliver };
}

describe('batch consumer: a batch delivered again into the same buffer', () => {
  it('buffers each offset once when a heartbeat failed while the batch waited for a write slot', async () => {
    const { kafka, deliver } = fakeMember();
    const writes: string[][] = [];
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const consumer = createBatchConsumer<string>({
      kafka,
      groupId: 'g',
      topics: ['t'],
      logger: createLogger('silent'),
      sink: {
        decode: (source) => source.offset,
        write: async (items) => {
          writes.push([...items]);
          if (writes.length === 1) await held;
        },
        reject: (item) => item,
      },
      maxRows: 2,
      maxMs: 600_000,
    });
    await consumer.start();
    await deliver([0, 1], () => Promise.resolve());
    // Full, and the one write slot is taken: the batch waits, its heartbeat fails, kafkajs does
    // not resolve it and delivers it again (with one more message) into the same buffer.
    const notCoordinator = () =>
      Promise.reject(Object.assign(new Error('NOT_COORDINATOR'), { retriable: true }));
    await expect(deliver([2, 3], notCoordinator)).rejects.toThrow('NOT_COORDINATOR');
    const again = deliver([2, 3, 4], () => Promise.resolve());
    setTimeout(release, 50);
    await again;
    await consumer.stop();

    expect(writes).toEqual([
      ['0', '1'],
      ['2', '3', '4'],
    ]);
  });
});
