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
        lastOffset: () => String(offsets[offsets.length - 1] ?? -1),
      },
      isStale: () => false,
      heartbeat,
    } as unknown as EachBatchPayload);
  /** kafkajs' account of a rebalance: REBALANCING, then the rejoin with the same partition. */
  const rebalance = () => {
    listeners.get('rebalancing')?.forEach((l) => l({ payload: {} }));
    listeners.get('group_join')?.forEach((l) => l({ payload: { memberAssignment: { t: [0] } } }));
  };
  return { kafka: { consumer: () => member as unknown as Consumer } as unknown as Kafka, deliver, rebalance };
}

/** kafkajs' error for a heartbeat during a rebalance: the batch waiting on it fails, unresolved. */
const rebalancing = () =>
  Promise.reject(Object.assign(new Error('REBALANCE_IN_PROGRESS'), { retriable: true }));

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

describe('batch consumer: a rebalance while ClickHouse is down', () => {
  it('holds at most maxInFlight + 1 batches: the rebalance does not flush past the bound, and the redelivery is buffered once', async () => {
    const { kafka, deliver, rebalance } = fakeMember();
    const written: string[][] = [];
    let down = true;
    const consumer = createBatchConsumer<string>({
      kafka,
      groupId: 'g',
      topics: ['t'],
      logger: createLogger('silent'),
      sink: {
        decode: (source) => source.offset,
        write: (items) => {
          if (down) return Promise.reject(new Error('the store is down'));
          written.push([...items]);
          return Promise.resolve();
        },
        reject: (item) => item,
      },
      maxRows: 2,
      maxInFlight: 2,
      maxMs: 600_000,
    });
    await consumer.start();
    // Two batches writing (failing), a third full and waiting for a slot until its heartbeat
    // meets the rebalance; kafkajs then rejoins and delivers again from the last commit (none).
    await deliver([0, 1], () => Promise.resolve());
    await deliver([2, 3], () => Promise.resolve());
    await expect(deliver([4, 5], rebalancing)).rejects.toThrow('REBALANCE_IN_PROGRESS');
    rebalance();
    const again = deliver([0, 1, 2, 3, 4, 5, 6, 7], () => Promise.resolve());
    down = false;
    await again;
    // The earlier batches' writes retry with backoff; stop() would give them up.
    while (written.flat().length < 8) await new Promise((resolve) => setTimeout(resolve, 50));
    await consumer.stop();

    // Every batch held during the outage is written once it ends (two in flight, so in either
    // order): two writing, one filling.
    expect(written.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      ['0', '1'],
      ['2', '3'],
      ['4', '5', '6', '7'],
    ]);
  }, 30_000);
});
