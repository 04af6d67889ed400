import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { fetchTopicEnds } from './topic-ends.js';

export interface PartitionRead {
  messages: { partition: number; message: KafkaMessage }[];
  /** Each partition's end when the read began: everything below it was read (or is gone). */
  ends: Map<number, bigint>;
}

/**
 * The messages of `topic` from each partition's offset in `from` to its end now, read by a
 * throwaway group that commits nothing (kafkajs has no assign). A partition missing from `from`
 * is not read (beyond what a first fetch brings, which is dropped). An offset below what the
 * topic still keeps starts at its first kept message.
 */
export async function readPartitionsFrom(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, bigint>,
  timeoutMs = 30_000,
): Promise<PartitionRead> {
  const ends = await fetchTopicEnds(kafka, topic, { attempts: 3, delayMs: 500 });
  const starts = new Map<number, bigint>();
  for (const { partition, low, high } of ends) {
    const start = from.get(partition);
    if (start === undefined) continue;
    const first = start > low ? start : low;
    if (first < high) starts.set(partition, first);
  }
  const read: PartitionRead = { messages: [], ends: new Map(ends.map((p) => [p.partition, p.high])) };
  if (starts.size > 0) await readRanges(kafka, topic, starts, read, timeoutMs);
  return read;
}

async function readRanges(
  kafka: Kafka,
  topic: string,
  starts: ReadonlyMap<number, bigint>,
  read: PartitionRead,
  timeoutMs: number,
): Promise<void> {
  const remaining = new Set(starts.keys());
  // By partition and offset: a fetch before the seek took effect may have read some of them already.
  const messages = new Map<string, { partition: number; message: KafkaMessage }>();
  const inRange = (partition: number, offset: bigint) =>
    offset >= (starts.get(partition) ?? 0n) && offset < (read.ends.get(partition) ?? 0n);
  // The disconnect waits for the fetch in flight, which kafkajs holds open up to 5 s by default.
  const consumer = kafka.consumer({
    groupId: `modelwatch-partition-reader-${randomUUID()}`,
    maxWaitTimeInMs: 200,
  });
  let finish = (): void => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  // Progress from this event: a batch of transaction markers alone reaches no eachBatch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic !== topic) return;
    if (BigInt(payload.lastOffset) + 1n >= (read.ends.get(payload.partition) ?? 0n))
      remaining.delete(payload.partition);
    if (remaining.size === 0) finish();
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    // Until the seeks below take effect the group reads from each partition's start, so any
    // batch that reaches an end followed a contiguous read over that partition's range.
    await consumer.subscribe({ topic, fromBeginning: true });
    // eachBatch, not eachMessage: kafkajs stops handing a batch's messages to eachMessage once a
    // seek is pending and still reports the whole batch as processed, which would end a
    // partition unread; a batch given to eachBatch is read whole.
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const message of batch.messages)
          if (inRange(batch.partition, BigInt(message.offset)))
            messages.set(`${batch.partition}:${message.offset}`, { partition: batch.partition, message });
        return Promise.resolve();
      },
    });
    // The other partitions to their ends, so that they are not read through.
    for (const [partition, end] of read.ends)
      consumer.seek({ topic, partition, offset: (starts.get(partition) ?? end).toString() });
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    await Promise.race([finished, timedOut]);
    read.messages.push(...messages.values());
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
  }
}
