import type { Kafka } from 'kafkajs';
import type { ModelRegistry } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import type { IngestConfig, TopicsConfig } from '../platform/config/index.js';
import { createBatchConsumer, type BatchConsumer, type PartitionedSender } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { createCollectorSink } from './collector-sink.js';
import type { IngestMetrics } from './ingest-metrics.js';

export interface CollectorsDeps {
  kafka: Kafka;
  /** Dead letters' way out: `createIdempotentSender`, so a letter is written once. */
  letters: PartitionedSender;
  db: Database;
  models: ModelRegistry;
  metrics: IngestMetrics;
  topics: TopicsConfig;
  ingest: IngestConfig;
  logger: Logger;
}

/** One consumer in the service's group reads the three input topics into ClickHouse. */
export function createCollectors(deps: CollectorsDeps): BatchConsumer {
  const { topics, ingest, metrics } = deps;
  const sink = createCollectorSink({
    db: deps.db,
    letters: deps.letters,
    models: deps.models,
    metrics,
    topics,
    maxMessageBytes: ingest.maxMessageBytes,
    maxFutureSkewMs: ingest.maxFutureSkewMs,
    maxFeatures: ingest.maxFeatures,
    maxFeatureNameLength: ingest.maxFeatureNameLength,
  });
  return createBatchConsumer({
    kafka: deps.kafka,
    groupId: ingest.consumerGroup,
    topics: [topics.predictions, topics.labels, topics.accessLog],
    sink,
    logger: deps.logger.child({ component: 'collectors' }),
    maxRows: ingest.batchMaxRows,
    maxMs: ingest.batchMaxMs,
    maxBytes: ingest.batchMaxBytes,
    maxInFlight: ingest.batchMaxInFlight,
    sessionTimeoutMs: ingest.sessionTimeoutMs,
    onLag: (topic, partition, lag) => metrics.consumerLag.set({ topic, partition: String(partition) }, lag),
    onLagGone: (topic, partition) => metrics.consumerLag.remove({ topic, partition: String(partition) }),
    onFlush: (rows, seconds) => {
      metrics.batchRows.observe(rows);
      metrics.insertSeconds.observe(seconds);
    },
    onWriteError: () => metrics.insertErrors.inc(),
  });
}
