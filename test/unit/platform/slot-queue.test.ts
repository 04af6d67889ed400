import { describe, expect, it } from 'vitest';
import { EngineBusyError, SlotQueue, type Slot } from '../../../src/platform/clickhouse/slot-queue.js';
import { isModelwatchError } from '../../../src/platform/errors.js';

const settle = () => new Promise((r) => setImmediate(r));

describe('SlotQueue', () => {
  it('hands slots out at once while free, then first come first served', async () => {
    const queue = new SlotQueue({ slots: 2, maxQueued: 10 });
    const a = await queue.acquire();
    const b = await queue.acquire();
    expect(new Set([a.index, b.index])).toEqual(new Set([0, 1]));
    expect(queue.busy).toBe(2);
    const order: string[] = [];
    const waiters = ['c', 'd', 'e'].map((name) =>
      queue.acquire().then((slot) => {
        order.push(name);
        return slot;
      }),
    );
    expect(queue.waiting).toBe(3);
    a.release();
    a.release(); // a second release must not free the slot twice
    await settle();
    expect(order).toEqual(['c']);
    b.release();
    await settle();
    expect(order).toEqual(['c', 'd']);
    const [c, d] = (await Promise.all(waiters.slice(0, 2))) as [Slot, Slot];
    c.release();
    const e = await waiters[2];
    expect(order).toEqual(['c', 'd', 'e']);
    expect(queue.busy).toBe(2);
    d.release();
    e?.release();
    expect(queue.busy).toBe(0);
    expect(queue.waiting).toBe(0);
  });

  it('serves the urgent lane before earlier normal waiters', async () => {
    const queue = new SlotQueue({ slots: 1, maxQueued: 10 });
    const held = await queue.acquire();
    const order: string[] = [];
    const normal = queue.acquire().then((s) => (order.push('normal'), s.release()));
    const urgent = queue.acquire({ urgent: true }).then((s) => (order.push('urgent'), s.release()));
    held.release();
    await Promise.all([normal, urgent]);
    expect(order).toEqual(['urgent', 'normal']);
  });

  it('refuses a bounded acquisition beyond the bound with a retryable 503 and Retry-After; unbounded ones still wait', async () => {
    const queue = new SlotQueue({ slots: 1, maxQueued: 2 });
    const held = await queue.acquire({ bounded: true });
    const queued = [queue.acquire({ bounded: true }), queue.acquire({ bounded: true })];
    const refused = await queue.acquire({ bounded: true }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(EngineBusyError);
    expect(isModelwatchError(refused, 'CLICKHOUSE_UNAVAILABLE')).toBe(true);
    const busy = refused as EngineBusyError;
    expect(busy.retryable).toBe(true);
    expect(busy.statusCode).toBe(503);
    expect(Number(busy.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(busy.headers['retry-after'])).toBeLessThanOrEqual(60);
    const write = queue.acquire(); // unbounded: a write is never refused
    expect(queue.waiting).toBe(3);
    held.release();
    (await queued[0])?.release();
    // A freed place in the bound admits a bounded waiter again.
    const again = queue.acquire({ bounded: true });
    (await queued[1])?.release();
    (await write).release();
    (await again).release();
    expect(queue.busy).toBe(0);
  });

  it('with a bound of 0 refuses a bounded acquisition only when no slot is free', async () => {
    const queue = new SlotQueue({ slots: 1, maxQueued: 0 });
    const held = await queue.acquire({ bounded: true });
    await expect(queue.acquire({ bounded: true })).rejects.toBeInstanceOf(EngineBusyError);
    held.release();
    (await queue.acquire({ bounded: true })).release();
  });

  it('close refuses every waiter and every later acquisition with the given error', async () => {
    const queue = new SlotQueue({ slots: 1, maxQueued: 5 });
    const held = await queue.acquire();
    const waiting = queue.acquire({ bounded: true });
    const closing = new Error('closing');
    queue.close(closing);
    await expect(waiting).rejects.toBe(closing);
    await expect(queue.acquire()).rejects.toBe(closing);
    held.release();
    expect(queue.waiting).toBe(0);
  });
});
