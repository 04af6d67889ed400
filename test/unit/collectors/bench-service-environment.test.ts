import { describe, expect, it } from 'vitest';
import { serviceEnvironment } from '../../../src/collectors/bench-service.js';
import { benchConfig } from '../../../src/platform/cli/index.js';
import { loadConfig, type Config } from '../../../src/platform/config/index.js';

/** What `bench ingest`'s parent was started with: a production deployment's names. */
const production = {
  MODELWATCH_KAFKA_BROKERS: 'prod:9092',
  MODELWATCH_TOPIC_PREDICTIONS: 'p',
  MODELWATCH_TOPIC_LABELS: 'l',
  MODELWATCH_TOPIC_ACCESS_LOG: 'a',
  MODELWATCH_TOPIC_RETRAIN: 'r',
  MODELWATCH_TOPIC_AUDIT_DIGESTS: 'd',
  MODELWATCH_TOPIC_DLQ: 'x',
  MODELWATCH_TOPIC_AUDIT: 'e',
  MODELWATCH_CONSUMER_GROUP: 'prod',
  MODELWATCH_AUDIT_CONSUMER_GROUP: 'prod-audit',
};

function kafkaNames(config: Config) {
  const { partitions: _partitions, ...topics } = config.topics;
  return {
    topics,
    audit: config.audit.topic,
    groups: [config.ingest.consumerGroup, config.audit.consumerGroup],
  };
}

describe("the environment of bench ingest's service process", () => {
  it('names every topic and group of the benchmark, whatever the parent environment says', () => {
    const bench = benchConfig(loadConfig(production), {
      name: 'ingest',
      id: '0f0f0f0f',
      brokers: ['127.0.0.1:9092'],
      dataDir: '/tmp/bench-ingest',
    });
    // The child inherits the parent's environment, then these.
    const child = loadConfig({ ...production, ...serviceEnvironment(bench, ['127.0.0.1:9092'], 8123) });
    expect(kafkaNames(child)).toEqual(kafkaNames(bench));
    expect(child.clickhouse.dataDir).toBe('/tmp/bench-ingest');
  });
});
