import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import { cleanUpOnSignal, scratchDir } from './interrupt.js';

/** Where a benchmark runs the service: a broker, a scratch engine, topics and a group of its own. */
export interface BenchEnvironment {
  /** The environment's configuration with this run's topics, group and data dir. */
  config: Config;
  /** This run's predictions topic (created by the benchmark). */
  topic: string;
  brokers: string[];
  logger: Logger;
}

/**
 * Runs `bench` against `MODELWATCH_KAFKA_BROKERS` or a local broker started for it, with a
 * scratch data dir and unique topics and consumer group (`bench-<name>-<id>`); the local broker
 * and the data dir are removed afterwards, whatever happens, a Ctrl-C included.
 */
export async function withBenchEnvironment<T>(
  name: string,
  bench: (env: BenchEnvironment) => Promise<T>,
): Promise<T> {
  // Loaded here, not with this module: every command imports the CLI area, and the Kafka client,
  // logger and configuration (zod) are ~300 modules a command like `modelwatch drift` never uses.
  const [{ stopIdleRequestQueuePolling, startLocalBroker }, { createLogger }, { loadConfig }] =
    await Promise.all([
      import('../kafka/index.js'),
      import('../observability/index.js'),
      import('../config/index.js'),
    ]);
  stopIdleRequestQueuePolling();
  const base = loadConfig();
  const logger = createLogger(base.logLevel === 'info' ? 'warn' : base.logLevel, 'bench');
  const broker = base.kafka.brokers
    ? undefined
    : await startLocalBroker({ version: base.kafka.localVersion, cacheDir: base.cacheDir, logger });
  // Stopped on Ctrl-C too: a stopped broker removes its own (temporary) data.
  const releaseBroker = broker && cleanUpOnSignal(() => broker.stop());
  const brokers = base.kafka.brokers ?? broker?.brokers ?? [];
  const scratch = await scratchDir('modelwatch-bench-');
  try {
    const id = randomUUID().slice(0, 8);
    const topic = `bench-${id}.predictions`;
    const config: Config = {
      ...base,
      kafka: { ...base.kafka, brokers },
      clickhouse: { ...base.clickhouse, dataDir: scratch.path, database: 'bench' },
      topics: {
        ...base.topics,
        predictions: topic,
        labels: `bench-${id}.labels`,
        accessLog: `bench-${id}.access-log`,
        deadLetter: `bench-${id}.dlq`,
      },
      ingest: { ...base.ingest, consumerGroup: `bench-${name}-${id}` },
    };
    return await bench({ config, topic, brokers, logger });
  } finally {
    releaseBroker?.();
    await broker?.stop();
    await scratch.remove();
  }
}
