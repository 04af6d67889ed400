/**
 * A one-topic Kafka for the retrain publisher's unit tests: the parts of kafkajs 2.2.4 the
 * publisher uses (a consumer group of one member, an admin listing offsets, transactional
 * producers), over a log whose transactions follow the broker's rules where the publisher's
 * correctness depends on them:
 *
 * - a transactional id's epoch is bumped when a producer initialises it (kafkajs does so at its
 *   first `transaction()`), and that finishes the id's transaction left in doubt (a commit the
 *   coordinator took but whose answer was lost) or aborts an open one;
 * - a producer of an older epoch is refused (`PRODUCER_FENCED`);
 * - read_committed readers and the admin's ListOffsets stop at the last stable offset (the first
 *   record of a transaction not finished yet) and skip aborted records;
 * - a failed EndTxn leaves kafkajs' producer in COMMITTING for good, as fenced-producers.test.ts.
 */
import type { Kafka } from 'kafkajs';
import { TRIGGER_ID_HEADER } from '../../../src/triggers/publish/partition-progress.js';

type RecordState = 'open' | 'in-doubt' | 'committed' | 'aborted';
type ProducerState = 'READY' | 'TRANSACTING' | 'COMMITTING';

interface LogRecord {
  partition: number;
  offset: number;
  triggerId: string;
  state: RecordState;
}

interface TransactionalId {
  epoch: number;
  /** Records of its transaction not finished yet (open or in doubt). */
  unfinished: LogRecord[];
}

type Listener = (event: { payload: Record<string, unknown> }) => void;

export interface FakeKafkaPlan {
  /** Producer connects to fail (a broker unreachable). */
  failConnect: number;
  /** Commits the coordinator takes (PrepareCommit) whose answer is lost: the transaction stays in doubt. */
  commitInDoubt: number;
  /**
   * Commits that find the transaction aborted by the coordinator (its timeout, KIP-360), the epoch
   * bumped: the commit is refused with this error type, although no other producer holds the id.
   */
  coordinatorAborts: string[];
  /** Whether the consumer's heartbeats succeed (kafkajs emits HEARTBEAT after each one that did). */
  heartbeats: boolean;
}

const EVENTS = {
  GROUP_JOIN: 'consumer.group_join',
  REBALANCING: 'consumer.rebalancing',
  CRASH: 'consumer.crash',
  STOP: 'consumer.stop',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  HEARTBEAT: 'consumer.heartbeat',
};

export function fakeKafka(topic: string, partitions = 1) {
  const plan: FakeKafkaPlan = { failConnect: 0, commitInDoubt: 0, coordinatorAborts: [], heartbeats: true };
  const log = new Map<number, LogRecord[]>(Array.from({ length: partitions }, (_, p) => [p, []]));
  const ids = new Map<string, TransactionalId>();
  /** Producers created (each claim makes one). */
  let producersCreated = 0;
  let assignment = Array.from({ length: partitions }, (_, p) => p);
  let current:
    { emit: (name: string, payload: Record<string, unknown>) => void; join: () => void } | undefined;

  const records = (p: number) => log.get(p) ?? [];
  const stable = (p: number) => {
    const first = records(p).find((r) => r.state === 'open' || r.state === 'in-doubt');
    return first?.offset ?? records(p).length;
  };
  const finish = (id: TransactionalId, state: 'committed' | 'aborted') => {
    for (const r of id.unfinished) r.state = state;
    id.unfinished = [];
  };
  /** What the coordinator does with an unfinished transaction when its id is taken again. */
  const complete = (id: TransactionalId) => {
    for (const r of id.unfinished) r.state = r.state === 'in-doubt' ? 'committed' : 'aborted';
    id.unfinished = [];
  };
  const typed = (type: string) => Object.assign(new Error(`fake broker: ${type}`), { type });

  const producer = ({ transactionalId }: { transactionalId: string }) => {
    producersCreated += 1;
    const me = { state: 'READY' as ProducerState, epoch: -1 };
    const id = ids.get(transactionalId) ?? { epoch: 0, unfinished: [] };
    ids.set(transactionalId, id);
    const guard = (method: string, legal: ProducerState[]) => {
      if (!legal.includes(me.state))
        throw new Error(`Transaction state exception: Cannot call "${method}" in state "${me.state}"`);
    };
    const fenced = () => me.epoch !== id.epoch;
    return {
      connect: () => {
        if (plan.failConnect > 0) {
          plan.failConnect -= 1;
          return Promise.reject(new Error('Connection error: connect ECONNREFUSED'));
        }
        return Promise.resolve();
      },
      disconnect: () => Promise.resolve(),
      transaction: async () => {
        await Promise.resolve();
        guard('beginTransaction', ['READY']);
        if (me.epoch < 0) {
          // InitProducerId: the coordinator finishes the id's earlier transaction, then bumps the epoch.
          complete(id);
          id.epoch += 1;
          me.epoch = id.epoch;
        }
        me.state = 'TRANSACTING';
        return {
          send: ({ messages }: { messages: { partition: number; headers: Record<string, string> }[] }) => {
            if (fenced()) return Promise.reject(typed('PRODUCER_FENCED'));
            return Promise.resolve(
              messages.map((m) => {
                const r: LogRecord = {
                  partition: m.partition,
                  offset: records(m.partition).length,
                  triggerId: m.headers[TRIGGER_ID_HEADER] ?? '',
                  state: 'open',
                };
                records(m.partition).push(r);
                id.unfinished.push(r);
                return {
                  topicName: topic,
                  partition: m.partition,
                  errorCode: 0,
                  baseOffset: String(r.offset),
                };
              }),
            );
          },
          commit: async () => {
            await Promise.resolve();
            guard('commit', ['TRANSACTING']);
            me.state = 'COMMITTING';
            if (fenced()) throw typed('PRODUCER_FENCED');
            const aborted = plan.coordinatorAborts.shift();
            if (aborted) {
              finish(id, 'aborted');
              id.epoch += 1;
              throw typed(aborted);
            }
            if (plan.commitInDoubt > 0) {
              plan.commitInDoubt -= 1;
              for (const r of id.unfinished) r.state = 'in-doubt';
              throw new Error('The coordinator is loading and hence can not process requests');
            }
            finish(id, 'committed');
            me.state = 'READY';
          },
          abort: async () => {
            await Promise.resolve();
            guard('abort', ['TRANSACTING']);
            if (!fenced()) finish(id, 'aborted');
            me.state = 'READY';
          },
        };
      },
    };
  };

  const consumer = () => {
    const listeners = new Map<string, Listener[]>();
    const emit = (name: string, payload: Record<string, unknown>) => {
      for (const listener of listeners.get(name) ?? []) listener({ payload });
    };
    const position = new Map<number, number>();
    let handler: ((payload: unknown) => Promise<void>) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const me = {
      emit,
      join: () => {
        position.clear();
        emit(EVENTS.GROUP_JOIN, { memberAssignment: { [topic]: [...assignment] } });
      },
    };
    const poll = async () => {
      if (plan.heartbeats) emit(EVENTS.HEARTBEAT, {});
      for (const p of assignment) {
        const from = position.get(p) ?? 0;
        const to = stable(p);
        if (to <= from) continue;
        const messages = records(p)
          .slice(from, to)
          .filter((r) => r.state === 'committed')
          .map((r) => ({
            offset: String(r.offset),
            key: null,
            value: Buffer.from(JSON.stringify({ trigger_id: r.triggerId })),
            headers: { [TRIGGER_ID_HEADER]: Buffer.from(r.triggerId) },
          }));
        position.set(p, to);
        if (messages.length > 0) await handler?.({ batch: { topic, partition: p, messages } });
        emit(EVENTS.END_BATCH_PROCESS, { topic, partition: p, lastOffset: String(to - 1) });
      }
    };
    return {
      events: EVENTS,
      on: (name: string, listener: Listener) => {
        listeners.set(name, [...(listeners.get(name) ?? []), listener]);
        return () => undefined;
      },
      connect: () => Promise.resolve(),
      subscribe: () => Promise.resolve(),
      run: ({ eachBatch }: { eachBatch: (payload: unknown) => Promise<void> }) => {
        handler = eachBatch;
        current = me;
        me.join();
        const tick = () => {
          timer = setTimeout(() => void poll().finally(tick), 5);
        };
        tick();
        return Promise.resolve();
      },
      disconnect: () => {
        clearTimeout(timer);
        if (current === me) current = undefined;
        return Promise.resolve();
      },
    };
  };

  const admin = () => ({
    connect: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
    fetchTopicMetadata: () =>
      Promise.resolve({
        topics: [{ name: topic, partitions: [...log.keys()].map((partitionId) => ({ partitionId })) }],
      }),
    // read_committed, as kafkajs' admin lists offsets: the last stable offset.
    fetchTopicOffsets: () =>
      Promise.resolve(
        [...log.keys()].map((partition) => ({
          partition,
          offset: String(stable(partition)),
          high: String(stable(partition)),
          low: '0',
        })),
      ),
  });

  return {
    kafka: { producer, consumer, admin } as unknown as Kafka,
    plan,
    /** Trigger ids committed on partition p, in offset order (what a read_committed reader gets). */
    committed: (p: number) =>
      records(p)
        .filter((r) => r.state === 'committed')
        .map((r) => r.triggerId),
    producersCreated: () => producersCreated,
    /** Another instance's producer takes transactional id `id` (epoch bump, as its claim does). */
    fenceFrom: (id: string) => {
      const held = ids.get(id);
      if (!held) throw new Error(`no producer ever held ${id}`);
      complete(held);
      held.epoch += 1;
    },
    /** A rebalance: the member's consumer is told to rejoin and gets `partitions`. */
    rebalance: (partitions: number[]) => {
      assignment = partitions;
      current?.emit(EVENTS.REBALANCING, {});
      current?.join();
    },
  };
}
