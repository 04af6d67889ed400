import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import { ModelwatchError } from '../errors.js';
import type { Logger } from '../observability/index.js';
import { cleanUpOnSignal, scratchDir } from './interrupt.js';

/**
 * Where a benchmark runs the service: a broker, a scratch embedded engine, and topics and
 * consumer groups of its own.
 */
export interface BenchEnvironment {
  /** The environment's configuration with this run's topics, groups and data dir. */
  config: Config;
  /** This run's predictions topic (created by the benchmark). */
  topic: string;
  brokers: string[];
  logger: Logger;
}

/** What makes one benchmark run's configuration its own. */
export interface BenchRun {
  /** The benchmark's name, in its consumer groups. */
  name: string;
  /** This run's id, in every topic and group name. */
  id: string;
  brokers: string[];
  /** The scratch data dir of its embedded engine. */
  dataDir: string;
}

/**
 * Refuses a ClickHouse server: a benchmark would create its tables there and never drop them, and
 * `bench ingest` starts `serve` in a process that inherits this environment, so a configuration
 * changed here could not keep that one off the server.
 */
export function refuseClickHouseServer(base: Config): void {
  if (base.clickhouse.url === undefined) return;
  throw new ModelwatchError(
    'CONFIG_INVALID',
    'benchmarks run on a scratch embedded engine and would write their tables to the server: unset MODELWATCH_CLICKHOUSE_URL (and MODELWATCH_CLICKHOUSE_CLUSTER) to run them',
  );
}

/**
 * `base` with every topic and consumer group named `bench-<id>…` and a scratch embedded engine:
 * the service a benchmark starts (every capability) would otherwise join the configured audit
 * group, chain and commit its records, and publish retrain triggers and audit heads on the
 * configured topics of a shared broker.
 */
export function benchConfig(base: Config, run: BenchRun): Config {
  refuseClickHouseServer(base);
  const topic = (suffix: string) => `bench-${run.id}.${suffix}`;
  const group = `bench-${run.name}-${run.id}`;
  return {
    ...base,
    kafka: { ...base.kafka, brokers: run.brokers },
    clickhouse: {
      ...base.clickhouse,
      url: undefined,
      cluster: undefined,
      dataDir: run.dataDir,
      database: 'bench',
    },
    topics: {
      ...base.topics,
      predictions: topic('predictions'),
      labels: topic('labels'),
      accessLog: topic('access-log'),
      retrain: topic('retrain-triggers'),
      auditDigests: topic('audit-digests'),
      deadLetter: topic('dlq'),
    },
    ingest: { ...base.ingest, consumerGroup: group },
    audit: { ...base.audit, topic: topic('audit-events'), consumerGroup: `${group}-audit` },
  };
}

/**
 * Runs `bench` against `MODELWATCH_KAFKA_BROKERS` or a local broker started for it, with the
 * configuration of `benchConfig` (refused with MODELWATCH_CLICKHOUSE_URL set); the local broker
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
  refuseClickHouseServer(base);
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
    const config = benchConfig(base, { name, id, brokers, dataDir: scratch.path });
    return await bench({ config, topic: config.topics.predictions, brokers, logger });
  } finally {
    releaseBroker?.();
    await broker?.stop();
    await scratch.remove();
  }
}
