import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { createIdempotentSender } from '../platform/kafka/index.js';
import { createCollectors } from './collectors.js';
import { DEAD_LETTER_REASONS, letterSource } from './dead-letter.js';
import { createIngestMetrics } from './ingest-metrics.js';
import { collectorMigrations } from './schema.js';

/** The input topics into ClickHouse (SPEC 3): one consumer in the service's group. */
export const collectors: CapabilityDefinition = {
  name: 'collectors',
  migrations: collectorMigrations,
  benches: {
    ingest: {
      summary:
        'Kafka → ClickHouse events/s (beside a bare kafkajs consumer), event-to-queryable latency, peak RSS',
      load: async () => (await import('./bench.js')).ingestBench,
    },
  },
  create(platform, use): Capability {
    const { config } = platform;
    const metrics = createIngestMetrics(platform.registry);
    // Every topic and reason exported at 0 from the start, so the first dead letter is an
    // increase Prometheus sees (a series born at 1 has no increase) and the alert fires on it.
    for (const topic of [config.topics.predictions, config.topics.labels, config.topics.accessLog])
      for (const reason of DEAD_LETTER_REASONS) metrics.deadLetters.inc({ topic, reason }, 0);
    const letters = createIdempotentSender(
      platform.kafka,
      platform.logger.child({ component: 'dead-letters' }),
      {
        identify: letterSource,
      },
    );
    const consumer = createCollectors({
      kafka: platform.kafka,
      letters,
      db: platform.db,
      models: use(models).registry,
      metrics,
      topics: config.topics,
      ingest: config.ingest,
      logger: platform.logger,
    });
    let joined = false;
    return {
      async start() {
        await consumer.start();
        joined = true;
      },
      async stop() {
        if (joined) await consumer.stop();
        await letters.disconnect();
      },
      ready: () => ({ ingest: joined && !consumer.degraded }),
    };
  },
};
