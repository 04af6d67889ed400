/** Reads the digests published to the digests topic back, for `audit verify --from-topic`. */
import { randomUUID } from 'node:crypto';
import { fetchTopicEnds, type Kafka } from '../platform/kafka/index.js';
import { MAX_DIGEST_ENTRIES, parseDigest } from './digest.js';
import type { DigestEntry } from './verify.js';

/**
 * Every entry on `topic` up to its current end (the latest MAX_DIGEST_ENTRIES), read by a
 * throwaway group that commits nothing. Entries that are not digests are refused naming the field.
 */
export async function readDigestTopic(
  kafka: Kafka,
  topic: string,
  timeoutMs = 60_000,
): Promise<DigestEntry[]> {
  // A new admin per attempt: one admin keeps a stale leader for minutes after a leader change.
  const ends = new Map((await fetchTopicEnds(kafka, topic)).map((p) => [p.partition, p.high]));
  const remaining = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  if (remaining.size === 0) return [];
  const lines: string[] = [];
  // The disconnect waits for the fetch in flight, which kafkajs holds open up to 5 s by default.
  const consumer = kafka.consumer({
    groupId: `modelwatch-digest-reader-${randomUUID()}`,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
      void consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (message.value) lines.push(message.value.toString('utf8'));
            if (lines.length > MAX_DIGEST_ENTRIES) lines.shift();
            if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) remaining.delete(partition);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return parseDigest(`[${lines.join(',')}]`);
}
