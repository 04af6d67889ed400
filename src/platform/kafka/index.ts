export { createKafka, type Kafka } from './client.js';
export { stopIdleRequestQueuePolling } from './request-queue-fix.js';
export { ensureTopics, replicationFor, type TopicSpec } from './topics.js';
export { fetchTopicEnds, type TopicEndsOptions } from './topic-ends.js';
export {
  createBatchConsumer,
  type BatchConsumer,
  type BatchConsumerOptions,
  type BatchSink,
  type SourceMessage,
} from './batch-consumer.js';
export { startLocalBroker, startLocalCluster, type LocalBrokerOptions } from './local-broker/start-broker.js';
export type { LocalBroker, LocalCluster } from './local-broker/types.js';
export { assertJavaAndMaven, resolveKafkaJars } from './local-broker/maven-broker.js';
export { commandWorks } from './local-broker/tools.js';
export {
  bySize,
  createPartitionedSender,
  groupByPartition,
  isMessageTooLarge,
  MAX_SEND_BYTES,
  messageBytes,
  sendByPartition,
  type PartitionedSender,
  type Partitioner,
} from './partitioned-send.js';
export {
  createIdempotentSender,
  type IdempotentSender,
  type IdempotentSenderOptions,
} from './idempotent-sender.js';
export { readPartitionsFrom, type PartitionRead } from './partition-reader.js';
export { KafkaFlightRecorder, flightRecorderOf, type RecordedEntry } from './flight-recorder.js';
