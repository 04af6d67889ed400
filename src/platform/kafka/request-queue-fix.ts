import { createRequire } from 'node:module';

/** The part of kafkajs 2.2.4's per-connection `RequestQueue` the fix reads. */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests: (this: RequestQueue) => void;
}

const FIXED = Symbol.for('modelwatch.requestQueueIdleFix');

/**
 * kafkajs 2.2.4 re-arms a timer at the end of every check of a connection's pending requests,
 * even when none is pending and nothing is throttled. Its delay is then `-1 - Date.now()`, which
 * Node clamps to 1 ms, so every broker connection runs a check every millisecond for as long as
 * it lives (tulios/kafkajs#1704; Node 24 warns about the negative delay, #1751). Measured here: a
 * consumer, a producer and an admin at 100 messages/s used 1.44–1.59 CPU s in 20 s with the loop
 * and 0.78–0.86 without it.
 *
 * The fix is the one proposed upstream (#1768): no timer when the queue is empty and not
 * throttled. Every path that fills the queue schedules its own check (`push`), and every response
 * and timeout checks it again, so nothing waits on the loop. Patched on the prototype, so it holds
 * for connections made before the call as well. kafkajs has had no release since 2.2.4, so the
 * private name is stable; the check below fails loudly if it ever moves.
 */
export function stopIdleRequestQueuePolling(): void {
  const require = createRequire(import.meta.url);
  const queueClass = require('kafkajs/src/network/requestQueue/index.js') as {
    prototype: RequestQueue & { [FIXED]?: true };
  };
  const prototype = queueClass.prototype;
  if (prototype[FIXED]) return;
  const schedule = prototype.scheduleCheckPendingRequests;
  if (typeof schedule !== 'function') {
    throw new Error(
      'kafkajs RequestQueue.scheduleCheckPendingRequests not found: the idle-timer fix needs revisiting',
    );
  }
  prototype.scheduleCheckPendingRequests = function (this: RequestQueue) {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  prototype[FIXED] = true;
}
