import { describe, expect, it } from 'vitest';
import { benchConfig, type BenchRun } from '../../../src/platform/cli/index.js';
import { loadConfig, type Config } from '../../../src/platform/config/index.js';
import { isModelwatchError } from '../../../src/platform/errors.js';

const run: BenchRun = { name: 'shadow', id: '1a2b3c4d', brokers: ['k1:9092'], dataDir: '/tmp/bench-scratch' };

/** Every string in `value` with where it is (`topics.retrain`, …), however deep. */
function strings(value: unknown, at = ''): [string, string][] {
  if (typeof value === 'string') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, at === '' ? k : `${at}.${k}`));
  return [];
}

/** The Kafka names a configuration reads, writes or joins: every topic and consumer group. */
function kafkaNames(config: Config): string[] {
  const { partitions: _partitions, ...topics } = config.topics;
  return [
    ...Object.values(topics),
    config.audit.topic,
    config.ingest.consumerGroup,
    config.audit.consumerGroup,
  ];
}

describe('a benchmark run configuration', () => {
  const configured = [
    loadConfig({ MODELWATCH_KAFKA_BROKERS: 'prod:9092' }),
    loadConfig({
      MODELWATCH_KAFKA_BROKERS: 'prod:9092',
      MODELWATCH_TOPIC_PREDICTIONS: 'p',
      MODELWATCH_TOPIC_LABELS: 'l',
      MODELWATCH_TOPIC_ACCESS_LOG: 'a',
      MODELWATCH_TOPIC_RETRAIN: 'r',
      MODELWATCH_TOPIC_AUDIT_DIGESTS: 'd',
      MODELWATCH_TOPIC_DLQ: 'x',
      MODELWATCH_TOPIC_AUDIT: 'e',
      MODELWATCH_CONSUMER_GROUP: 'prod',
      MODELWATCH_AUDIT_CONSUMER_GROUP: 'prod-audit-writers',
    }),
  ];

  it.each(configured)('shares no topic or group name with the configured service, anywhere in it', (base) => {
    const bench = benchConfig(base, run);
    const theirs = new Set(kafkaNames(base));
    // The client id names no topic or group (it is 'modelwatch', as the default group is).
    const shared = strings(bench).filter(([at, value]) => at !== 'kafka.clientId' && theirs.has(value));
    expect(shared).toEqual([]);
    for (const name of kafkaNames(bench)) expect(name).toMatch(/^bench-(shadow-)?1a2b3c4d/);
    // Each its own, as the configuration's own check (sharedNames) asks.
    expect(new Set(kafkaNames(bench)).size).toBe(kafkaNames(bench).length);
  });

  it("runs on a scratch embedded engine and this run's broker", () => {
    const bench = benchConfig(loadConfig({ MODELWATCH_KAFKA_BROKERS: 'prod:9092' }), run);
    expect(bench.clickhouse).toMatchObject({
      url: undefined,
      dataDir: '/tmp/bench-scratch',
      database: 'bench',
    });
    expect(bench.kafka.brokers).toEqual(['k1:9092']);
  });

  it('is refused with a ClickHouse server configured, naming the variable to unset', () => {
    const base = loadConfig({ MODELWATCH_CLICKHOUSE_URL: 'http://ch:8123/modelwatch' });
    let refused: unknown;
    try {
      benchConfig(base, run);
    } catch (err) {
      refused = err;
    }
    expect(isModelwatchError(refused, 'CONFIG_INVALID')).toBe(true);
    expect((refused as Error).message).toContain('unset MODELWATCH_CLICKHOUSE_URL');
  });
});
