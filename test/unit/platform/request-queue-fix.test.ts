import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { stopIdleRequestQueuePolling } from '../../../src/platform/kafka/request-queue-fix.js';

interface Queue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}

const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (
  options: Record<string, unknown>,
) => Queue;

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const queues: Queue[] = [];

function newQueue(): Queue {
  const queue = new RequestQueue({
    maxInFlightRequests: 1,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: 'test',
    broker: 'localhost:0',
    logger: silent,
  });
  queues.push(queue);
  return queue;
}

afterEach(() => {
  for (const queue of queues.splice(0)) queue.destroy();
});

describe('kafkajs request queue without the idle timer', () => {
  stopIdleRequestQueuePolling();
  stopIdleRequestQueuePolling(); // twice: the second call must not wrap the first

  it('arms no timer when nothing is pending and nothing is throttled', () => {
    const queue = newQueue();
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still checks a pending request again once a throttle ends', async () => {
    const queue = newQueue();
    let sent = 0;
    queue.maybeThrottle(30);
    queue.pending.push({ send: () => (sent += 1), expectResponse: true, correlationId: 1 });
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    expect(sent).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(sent).toBe(1);
    expect(queue.pending).toHaveLength(0);
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('keeps a timer while throttled, even with an empty queue', () => {
    const queue = newQueue();
    queue.maybeThrottle(1_000);
    queue.checkPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
  });
});
