import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/platform/observability/index.js';
import type { TriggerPayload } from '../../../src/triggers/engine/trigger.js';
import { FencedOut } from '../../../src/triggers/publish/fenced-out.js';
import { TriggerPublisher } from '../../../src/triggers/publish/publisher.js';
import type { Delivery, TriggerStore } from '../../../src/triggers/store/triggers.js';
import { fakeKafka } from './fake-kafka.js';

const topic = 'retrain';
const groupId = 'mw-retrain-publisher';

function trigger(id: string): TriggerPayload {
  return {
    trigger_id: id,
    model_id: 'm',
    model_version: '1',
    reason: 'drift',
    window: { start: '2026-03-02T00:00:00.000Z', end: '2026-03-02T01:00:00.000Z' },
    evidence: {},
    policy: {},
    created_at: '2026-03-02T01:00:05.000Z',
  };
}

/**
 * The outbox: `outbox` is what was stored; delivered and audited rows are kept in memory. Its
 * first `failingReads` reads of what is pending fail as an unreachable ClickHouse would.
 */
function fakeStore(outbox: TriggerPayload[], failingReads = 0) {
  const deliveries = new Map<string, Delivery>();
  const audited = new Set<string>();
  const reads = { failed: 0 };
  const store = {
    pending: () => {
      if (reads.failed < failingReads) {
        reads.failed += 1;
        return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123'));
      }
      return Promise.resolve(outbox.filter((t) => !deliveries.has(t.trigger_id)));
    },
    recordDeliveries: (rows: readonly Delivery[]) => {
      for (const d of rows) deliveries.set(d.triggerId, d);
      return Promise.resolve();
    },
    unaudited: () =>
      Promise.resolve(outbox.filter((t) => deliveries.has(t.trigger_id) && !audited.has(t.trigger_id))),
    recordAudits: (rows: readonly Pick<TriggerPayload, 'trigger_id'>[]) => {
      for (const t of rows) audited.add(t.trigger_id);
      return Promise.resolve();
    },
  };
  return { store: store as unknown as TriggerStore, deliveries, reads };
}

async function until(what: string, ok: () => boolean, publisher: TriggerPublisher, ms = 8_000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; the publisher saw: ${JSON.stringify(publisher.diagnostics())}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A publisher of the fake topic's one partition, claimed and read to its (empty) end. */
async function started(failingReads = 0) {
  const broker = fakeKafka(topic);
  const outbox: TriggerPayload[] = [];
  const { store, deliveries, reads } = fakeStore(outbox, failingReads);
  const emitted: string[] = [];
  const publisher = new TriggerPublisher({
    kafka: broker.kafka,
    store,
    topic,
    groupId,
    logger: createLogger('error', 'test'),
    intervalMs: 50,
    onPublished: (p) => void emitted.push(p.trigger_id),
  });
  await publisher.start();
  const read = () => (publisher.diagnostics()['read'] as Record<number, { end: string }> | undefined)?.[0];
  await until('partition 0 claimed and its end read', () => read()?.end === '0', publisher);
  return { broker, outbox, deliveries, emitted, publisher, reads };
}

describe('the retrain publisher after claiming a partition again', () => {
  it('reads the partition to its end before sending, so a commit that was in doubt is not sent twice', async () => {
    const { broker, outbox, deliveries, emitted, publisher } = await started();
    try {
      // The commit reaches the coordinator but its answer is lost (a coordinator restarting in
      // PrepareCommit), and the producer cannot be replaced at once: the end read then (the last
      // stable offset) stops before the trigger. Claiming the partition back completes the commit.
      broker.plan.commitInDoubt = 1;
      broker.plan.failConnect = 1;
      outbox.push(trigger('t-1'));
      void publisher.kick();
      await until('the trigger delivered', () => deliveries.has('t-1'), publisher);
      // Passes after the delivery would have sent a second copy by now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(broker.committed(0)).toEqual(['t-1']);
      expect(deliveries.get('t-1')?.offset).toBe('0');
      expect(emitted).toEqual(['t-1']);
      expect(broker.producersCreated()).toBe(3);
    } finally {
      await publisher.stop();
    }
  });

  it.each(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH', 'INVALID_TXN_STATE'])(
    'keeps a partition the group still assigns it after a %s nobody else caused (the coordinator aborted the transaction on its timeout)',
    async (type) => {
      const { broker, outbox, deliveries, emitted, publisher } = await started();
      try {
        broker.plan.coordinatorAborts = [type];
        outbox.push(trigger('t-1'));
        void publisher.kick();
        await until('the trigger delivered', () => deliveries.has('t-1'), publisher);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(publisher.assignment).toEqual([0]);
        // The aborted copy is invisible; the one sent after the claim is the only committed one.
        expect(broker.committed(0)).toEqual(['t-1']);
        expect(deliveries.get('t-1')?.offset).toBe('1');
        expect(emitted).toEqual(['t-1']);
        expect(broker.producersCreated()).toBe(2);
        // Later triggers go out on the same partition.
        outbox.push(trigger('t-2'));
        await until('the next trigger delivered', () => deliveries.has('t-2'), publisher);
        expect(broker.committed(0)).toEqual(['t-1', 't-2']);
      } finally {
        await publisher.stop();
      }
    },
  );

  it('does not take a partition back from a new owner: no claim before the group confirms the assignment', async () => {
    const { broker, outbox, deliveries, publisher } = await started();
    try {
      // Its session lapsed (heartbeats fail) and another member was given the partition and claimed it.
      broker.plan.heartbeats = false;
      broker.fenceFrom(`${groupId}-p0`);
      outbox.push(trigger('t-1'));
      void publisher.kick();
      await until('fenced out', () => publisher.assignment.length === 0, publisher);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(broker.producersCreated()).toBe(1);
      // It then learns of the rebalance that moved the partition; heartbeats succeed again.
      broker.rebalance([]);
      broker.plan.heartbeats = true;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(publisher.assignment).toEqual([]);
      expect(broker.producersCreated()).toBe(1);
      expect(broker.committed(0)).toEqual([]);
      expect(deliveries.size).toBe(0);
    } finally {
      await publisher.stop();
    }
  });
});

describe('the retrain publisher with its store unreachable', () => {
  it('logs the failed passes after a claim and sends once the store answers (the process lives on)', async () => {
    // The claim's end read starts a pass nobody awaits; unhandled, its rejection ends the process
    // (and fails this file with an unhandled-rejection error).
    const { outbox, deliveries, publisher, reads } = await started(3);
    try {
      outbox.push(trigger('t-1'));
      await until('the trigger delivered', () => deliveries.has('t-1'), publisher);
      expect(reads.failed).toBe(3);
    } finally {
      await publisher.stop();
    }
  });
});

describe('partitions fenced out of', () => {
  it('are due on the second heartbeat after the fence (the first may have been in flight), in its generation only', () => {
    const fencedOut = new FencedOut();
    fencedOut.heartbeat(1);
    fencedOut.add(0, 1);
    fencedOut.add(2, 1);
    expect(fencedOut.heartbeat(1)).toEqual([]);
    expect(fencedOut.list()).toEqual([0, 2]);
    expect(fencedOut.heartbeat(1)).toEqual([0, 2]);
    expect(fencedOut.list()).toEqual([]);
    // A rebalance in between: its generation's claims decide, nothing is claimed back.
    fencedOut.add(1, 1);
    fencedOut.heartbeat(2);
    expect(fencedOut.heartbeat(2)).toEqual([]);
    expect(fencedOut.list()).toEqual([]);
  });
});
