import type { Kafka } from 'kafkajs';
import { ModelwatchError, errorMessage } from '../errors.js';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/**
 * SPEC 3: three or more brokers get replication factor 3 and min.insync.replicas=2 (with
 * acks=all a write survives one broker lost); a smaller cluster keeps the broker's defaults.
 */
export function replicationFor(brokerCount: number): {
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
} {
  if (brokerCount >= 3)
    return { replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] };
  return { replicationFactor: -1, configEntries: [] };
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      const { brokers } = await admin.describeCluster();
      const replication = replicationFor(brokers.length);
      await admin.createTopics({
        topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, ...replication })),
        waitForLeaders: true,
      });
    }
    return missing.map((t) => t.topic);
  } catch (err) {
    throw new ModelwatchError(
      'KAFKA_UNAVAILABLE',
      `could not create Kafka topics: ${errorMessage(err)}`,
      true,
      { cause: err },
    );
  } finally {
    await admin.disconnect();
  }
}
