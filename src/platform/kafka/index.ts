export { createKafka, silenceKafkajsTimerWarning, type Kafka } from './client.js';
export { ensureTopics, type TopicSpec } from './topics.js';
export { createBatchConsumer, type BatchConsumer, type BatchConsumerOptions, type BatchSink, type SourceMessage } from './batch-consumer.js';
export { startLocalBroker, type LocalBrokerOptions } from './local-broker/start-broker.js';
export type { LocalBroker } from './local-broker/types.js';
export { assertJavaAndMaven, resolveKafkaJars } from './local-broker/maven-broker.js';
