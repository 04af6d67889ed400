import type { Kafka } from 'kafkajs';
import { ModelwatchError, errorMessage } from '../errors.js';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/** Creates the topics that do not exist yet; existing topics are left as they are. */
export async function ensureTopics(kafka: Kafka, topics: TopicSpec[]): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length > 0) {
      await admin.createTopics({
        topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, replicationFactor: -1 })),
        waitForLeaders: true,
      });
    }
    return missing.map((t) => t.topic);
  } catch (err) {
    throw new ModelwatchError('KAFKA_UNAVAILABLE', `could not create Kafka topics: ${errorMessage(err)}`, true, { cause: err });
  } finally {
    await admin.disconnect();
  }
}
