import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Logger } from '../observability/index.js';
import { ModelwatchError, errorMessage } from '../errors.js';
import { createPartitionedSender, type PartitionedSender } from './partitioned-send.js';

/**
 * A partitioned sender over an idempotent producer, for messages that must not be written twice
 * (dead letters). The broker drops a retried produce request that repeats the producer's
 * sequence number, so kafkajs' own retries (a leader moved during a rolling restart, a request
 * timed out after the broker wrote it) no longer write a second copy. Without it, a rolling
 * restart of three brokers once gave one poison message two letters (cause not captured; such a
 * retry is one way).
 *
 * Two rules keep the broker's deduplication from dropping a letter that was never written:
 * - One send at a time. kafkajs 2.2.4 takes a partition's sequence number under a per-broker lock
 *   and gives it back when a request fails, then retries. A request that timed out may still have
 *   been written; if another send to that partition took the lock first, it would go out under
 *   the same number and, with as many records, be taken for that duplicate and dropped while its
 *   send resolves. Queued, the next request after a failure is the failed send's own retry.
 * - A new producer once a send fails for good. The broker may hold the batch under the number
 *   kafkajs gave back, and the next send would reuse it. A new producer (a new producer id,
 *   sequence 0) cannot collide; the caller's retry may then repeat what the failed send wrote,
 *   which is rare and what a plain producer does on every retry.
 */
export interface IdempotentSender extends PartitionedSender {
  disconnect(): Promise<void>;
  /** Producers replaced after a failed send (for tests and logs). */
  readonly renewed: number;
}

export function createIdempotentSender(kafka: Kafka, logger: Logger): IdempotentSender {
  let producer: Promise<Producer> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let renewed = 0;
  let closed = false;

  const connected = (): Promise<Producer> => {
    // A send still queued at shutdown must not open a producer nobody disconnects.
    if (closed) return Promise.reject(new ModelwatchError('KAFKA_UNAVAILABLE', 'the sender is closed', true));
    if (producer) return producer;
    const connecting = (async () => {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await created.connect();
      return created;
    })();
    producer = connecting;
    // A failed connect is tried again on the next send.
    connecting.catch(() => {
      if (producer === connecting) producer = undefined;
    });
    return connecting;
  };

  async function discard(): Promise<void> {
    const old = producer;
    producer = undefined;
    await old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  const sender = createPartitionedSender(kafka, { send: async (record) => (await connected()).send(record) });

  return {
    get renewed() {
      return renewed;
    },
    send(topic, messages, options) {
      const run = queue.then(async () => {
        try {
          await sender.send(topic, messages, options);
        } catch (err) {
          renewed += 1;
          logger.warn({ err: errorMessage(err), topic }, 'idempotent send failed: its producer is replaced');
          await discard();
          throw err;
        }
      });
      queue = run.catch(() => undefined);
      return run;
    },
    /** Not waiting for queued sends: at shutdown a send kafkajs keeps retrying is abandoned, as its batch is. */
    async disconnect() {
      closed = true;
      await discard();
    },
  };
}
