import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';

export interface TopicEndsOptions {
  /** Attempts, each with a new admin client. @default 10 */
  attempts?: number;
  /** Pause between attempts. @default 1000 */
  delayMs?: number;
}

/**
 * Each partition's end (high watermark) and start of `topic`. Every attempt uses a new admin:
 * kafkajs' admin keeps partition leaders for metadataMaxAge (5 min) and its fetchTopicOffsets
 * retries NOT_LEADER against the same stale leader until it gives up, so after a leader change
 * one admin stays unable to read the ends (seen on the three-broker cluster, issue 13).
 */
export async function fetchTopicEnds(
  kafka: Kafka,
  topic: string,
  options: TopicEndsOptions = {},
): Promise<{ partition: number; high: bigint; low: bigint }[]> {
  const attempts = options.attempts ?? 10;
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.map((p) => ({ partition: p.partition, high: BigInt(p.high), low: BigInt(p.low) }));
    } catch (err) {
      if (attempt >= attempts) throw err;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(options.delayMs ?? 1_000);
  }
}
