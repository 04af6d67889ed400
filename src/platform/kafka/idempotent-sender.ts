import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from '../observability/index.js';
import { ModelwatchError, errorMessage } from '../errors.js';
import { createPartitionedSender, type PartitionedSender, type SendOptions } from './partitioned-send.js';
import { readPartitionsFrom } from './partition-reader.js';
import { fetchTopicEnds } from './topic-ends.js';

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
 *   sequence 0) cannot collide, but neither can the broker tell the caller's retry from what the
 *   failed send wrote (seen: a leader SIGKILLed mid-send, one poison message lettered by two
 *   producer ids). With `identify`, the next send to that topic first reads each partition from
 *   where this sender's acknowledged writes ended (`floors`) and skips, as sent, the messages
 *   found there. What it cannot see: a write the new leader acknowledges only after that read.
 */
export interface IdempotentSender extends PartitionedSender {
  disconnect(): Promise<void>;
  /** Producers replaced after a failed send (for tests and logs). */
  readonly renewed: number;
}

export interface IdempotentSenderOptions {
  /** A message's identity (a dead letter's source offset): what the check after a failure matches on. */
  identify?: (message: Message) => string | undefined;
}

export function createIdempotentSender(
  kafka: Kafka,
  logger: Logger,
  options: IdempotentSenderOptions = {},
): IdempotentSender {
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
  const written = options.identify ? new WrittenCheck(kafka, options.identify) : undefined;

  return {
    get renewed() {
      return renewed;
    },
    send(topic, messages, sendOptions = {}) {
      const run = queue.then(async () => {
        const { unsent, tracked } = written
          ? await written.before(topic, messages, sendOptions)
          : { unsent: messages, tracked: sendOptions };
        try {
          await sender.send(topic, unsent, tracked);
        } catch (err) {
          renewed += 1;
          written?.failed(topic);
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

/**
 * Where this sender's acknowledged writes end in each partition, and the topics a failed send
 * left in doubt; before the next send to such a topic, what the failed send may have written.
 */
class WrittenCheck {
  private readonly floors = new Map<string, Map<number, bigint>>();
  private readonly inDoubt = new Set<string>();

  constructor(
    private readonly kafka: Kafka,
    private readonly identify: (message: Message) => string | undefined,
  ) {}

  failed(topic: string): void {
    this.inDoubt.add(topic);
  }

  /** The messages still to send, and options whose `onSent` also moves the floors up. */
  async before(
    topic: string,
    messages: readonly Message[],
    options: SendOptions,
  ): Promise<{ unsent: readonly Message[]; tracked: SendOptions }> {
    const floors = await this.floorsOf(topic);
    let indices = messages.map((_, i) => i);
    if (this.inDoubt.has(topic)) {
      indices = await this.skipWritten(topic, messages, floors, options);
      this.inDoubt.delete(topic);
    }
    const tracked: SendOptions = {
      ...options,
      onSent: (sent, at) => {
        const end = BigInt(at.baseOffset) + BigInt(sent.length);
        if (end > (floors.get(at.partition) ?? 0n)) floors.set(at.partition, end);
        options.onSent?.(
          sent.map((i) => indices[i] ?? i),
          at,
        );
      },
    };
    return { unsent: indices.map((i) => messages[i] as Message), tracked };
  }

  /** Reports the messages found between the floors and the ends as sent; the others' indices. */
  private async skipWritten(
    topic: string,
    messages: readonly Message[],
    floors: Map<number, bigint>,
    options: SendOptions,
  ): Promise<number[]> {
    const read = await readPartitionsFrom(this.kafka, topic, floors).catch((err: unknown) => {
      throw new ModelwatchError(
        'KAFKA_UNAVAILABLE',
        `reading ${topic} for what a failed send wrote: ${errorMessage(err)}`,
        true,
        { cause: err },
      );
    });
    const found = new Map<string, { partition: number; offset: string }>();
    for (const { partition, message } of read.messages) {
      const id = this.identify(message);
      if (id !== undefined) found.set(id, { partition, offset: message.offset });
    }
    for (const [partition, end] of read.ends)
      if (end > (floors.get(partition) ?? 0n)) floors.set(partition, end);
    const unsent: number[] = [];
    messages.forEach((message, i) => {
      const id = this.identify(message);
      const at = id === undefined ? undefined : found.get(id);
      if (at) options.onSent?.([i], { partition: at.partition, baseOffset: at.offset });
      else unsent.push(i);
    });
    return unsent;
  }

  /** Each partition's end before this sender's first send to `topic`. */
  private async floorsOf(topic: string): Promise<Map<number, bigint>> {
    const known = this.floors.get(topic);
    if (known) return known;
    const ends = await fetchTopicEnds(this.kafka, topic, { attempts: 1 }).catch((err: unknown) => {
      throw new ModelwatchError('KAFKA_UNAVAILABLE', `the ends of ${topic}: ${errorMessage(err)}`, true, {
        cause: err,
      });
    });
    const floors = new Map(ends.map((p) => [p.partition, p.high]));
    this.floors.set(topic, floors);
    return floors;
  }
}
