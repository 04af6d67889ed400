import {
  Partitioners,
  type Kafka,
  type Message,
  type PartitionMetadata,
  type Producer,
  type ICustomPartitioner,
} from 'kafkajs';
import { ModelwatchError, errorMessage } from '../errors.js';

/**
 * Why every send here names one partition (issue 13): kafkajs 2.2.4 loses messages when one
 * `send` spans partitions led by several brokers and a leader fails. Its retry
 * (`producer/sendMessages.js`) partitions the messages again, then skips every broker that
 * answered the first attempt; the failed partitions now led by such a broker are never sent, and
 * the send resolves as if they were. Seen on the three-broker cluster: a leader SIGKILLed
 * mid-publish, one partition's share of a 50-message send (15-17 messages) missing from the
 * topic, the send successful. A send to one partition goes to that partition's leader only, so
 * its retry reaches the new leader.
 */
export type Partitioner = ReturnType<ICustomPartitioner>;

/** Groups message indices by the partition kafkajs' default partitioner gives them. */
export function groupByPartition(
  topic: string,
  messages: readonly Message[],
  partitionMetadata: readonly PartitionMetadata[],
  partitioner: Partitioner,
): Map<number, number[]> {
  if (partitionMetadata.length === 0)
    throw new ModelwatchError('KAFKA_UNAVAILABLE', `no partitions known for ${topic}`, true);
  const groups = new Map<number, number[]>();
  messages.forEach((message, index) => {
    const partition = partitioner({ topic, partitionMetadata: [...partitionMetadata], message });
    groups.set(partition, [...(groups.get(partition) ?? []), index]);
  });
  return groups;
}

/**
 * Bytes of messages (keys, values, headers) in one `send`. kafkajs writes a partition's share of
 * a send as one record batch, and the broker refuses a batch over its `message.max.bytes` (by
 * default 1,048,588) as MESSAGE_TOO_LARGE, which kafkajs does not retry: a larger send, such as
 * 8 MiB of dead letters in one flush, would fail the same way on every retry.
 */
export const MAX_SEND_BYTES = 900_000;

export interface SendOptions {
  /** @default -1 (all in-sync replicas) */
  acks?: number;
  /** @default MAX_SEND_BYTES */
  maxBytes?: number;
  /** The indices of one partition's messages, once acknowledged, with where they were written. */
  onSent?: (indices: number[], written: { partition: number; baseOffset: string }) => void;
}

export interface PartitionedSender {
  /**
   * Sends `messages` with one `send` per partition, all at once. `onSent` gets the indices of
   * each partition's messages once the broker acknowledged them (so a caller retrying after a
   * failure resends only the others). Rejects with a retryable KAFKA_UNAVAILABLE if any failed.
   */
  send(topic: string, messages: readonly Message[], options?: SendOptions): Promise<void>;
}

export function createPartitionedSender(kafka: Kafka, producer: Pick<Producer, 'send'>): PartitionedSender {
  const partitioner = Partitioners.DefaultPartitioner();
  // A topic's partitions are looked up once: they are only ever added, and a send to the
  // partitions known keeps the key → partition mapping of that count.
  const known = new Map<string, PartitionMetadata[]>();

  async function partitionsOf(topic: string): Promise<PartitionMetadata[]> {
    const cached = known.get(topic);
    if (cached) return cached;
    const admin = kafka.admin();
    try {
      await admin.connect();
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = topics[0]?.partitions ?? [];
      if (partitions.length > 0) known.set(topic, partitions);
      return partitions;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  return {
    async send(topic, messages, options = {}) {
      if (messages.length === 0) return;
      let partitions: PartitionMetadata[];
      try {
        partitions = await partitionsOf(topic);
      } catch (err) {
        throw new ModelwatchError('KAFKA_UNAVAILABLE', `partitions of ${topic}: ${errorMessage(err)}`, true, {
          cause: err,
        });
      }
      await sendByPartition(
        producer,
        topic,
        messages,
        groupByPartition(topic, messages, partitions, partitioner),
        options,
      );
    },
  };
}

/**
 * The groups' sends all at once, each group's in order, cut at `maxBytes`; `onSent` per
 * acknowledged send; a retryable error if any failed (a group stops at its first failed send).
 */
export async function sendByPartition(
  producer: Pick<Producer, 'send'>,
  topic: string,
  messages: readonly Message[],
  groups: ReadonlyMap<number, number[]>,
  options: SendOptions,
): Promise<void> {
  const results = await Promise.allSettled(
    [...groups].map(async ([partition, indices]) => {
      for (const part of bySize(messages, indices, options.maxBytes ?? MAX_SEND_BYTES)) {
        const [written] = await producer.send({
          topic,
          acks: options.acks ?? -1,
          messages: part.map((i) => ({ ...(messages[i] as Message), partition })),
        });
        options.onSent?.(part, { partition, baseOffset: written?.baseOffset ?? '-1' });
      }
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed)
    throw new ModelwatchError('KAFKA_UNAVAILABLE', `send to ${topic}: ${errorMessage(failed.reason)}`, true, {
      cause: failed.reason,
    });
}

/** The indices cut into runs of at most `maxBytes` (a larger message is a run of its own). */
export function bySize(
  messages: readonly Message[],
  indices: readonly number[],
  maxBytes: number,
): number[][] {
  const runs: number[][] = [];
  let run: number[] = [];
  let bytes = 0;
  for (const i of indices) {
    const size = messageBytes(messages[i] as Message);
    if (run.length > 0 && bytes + size > maxBytes) {
      runs.push(run);
      run = [];
      bytes = 0;
    }
    run.push(i);
    bytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** A record's framing is a few dozen bytes at most: counted as 64. */
const RECORD_OVERHEAD = 64;

export function messageBytes(message: Message): number {
  let bytes = RECORD_OVERHEAD + byteLength(message.key) + byteLength(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    bytes += Buffer.byteLength(name);
    for (const v of Array.isArray(value) ? value : [value]) bytes += byteLength(v);
  }
  return bytes;
}

function byteLength(value: Buffer | string | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length;
}

/**
 * Whether a send failed because the broker refuses a message as larger than the topic allows
 * (kafkajs' MESSAGE_TOO_LARGE, not retried; found through the causes of our wrapping errors).
 */
export function isMessageTooLarge(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { type?: unknown }).type === 'MESSAGE_TOO_LARGE') return true;
  }
  return false;
}
