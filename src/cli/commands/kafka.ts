import { loadConfig } from '../../platform/config/index.js';
import {
  assertJavaAndMaven,
  resolveKafkaJars,
  startLocalBroker,
  stopIdleRequestQueuePolling,
  startLocalCluster,
} from '../../platform/kafka/index.js';
import { createLogger } from '../../platform/observability/index.js';
import {
  BROKER_LOCK_FILE,
  decimalOption,
  lockDataDir,
  parseOptions,
  untilSignal,
  UsageError,
  type Command,
} from '../../platform/cli/index.js';

/** Nodes in a local cluster; more than 5 quorum voters buys nothing on one machine. */
function brokerCount(value: string | undefined): number {
  if (value === undefined) return 1;
  // Decimal digits only, as every number the CLI takes: Number() read '0x3' as 3 and ' 2 ' as 2.
  const n = decimalOption(value);
  if (!Number.isInteger(n) || n < 1 || n > 5)
    throw new UsageError(`--brokers must be an integer from 1 to 5, got ${JSON.stringify(value)}`);
  return n;
}

export const kafkaCommand: Command = {
  async run(args) {
    const usage = 'modelwatch kafka [--brokers N] [--data-dir DIR] [--resolve-only]';
    const { values } = parseOptions(
      args,
      { 'data-dir': { type: 'string' }, 'resolve-only': { type: 'boolean' }, brokers: { type: 'string' } },
      usage,
      { allowPositionals: false },
    );
    const nodes = brokerCount(values.brokers);
    // `--data-dir=` (a variable left unset in a script): the lock's mkdir('') failed as ENOENT, exit 1.
    if (values['data-dir'] === '') throw new UsageError(`--data-dir must name a directory; usage: ${usage}`);
    const config = loadConfig();
    // The readiness check talks to the broker through kafkajs, whose timer warning is noise here too.
    stopIdleRequestQueuePolling();
    const logger = createLogger(config.logLevel);
    if (values['resolve-only']) {
      await assertJavaAndMaven();
      const libs = await resolveKafkaJars(config.kafka.localVersion, config.cacheDir, logger);
      process.stdout.write(`Apache Kafka ${config.kafka.localVersion} jars in ${libs}\n`);
      return 0;
    }
    const dataDir = values['data-dir'];
    const options = { version: config.kafka.localVersion, cacheDir: config.cacheDir, dataDir, logger };
    // A second broker on a kept data dir corrupted the running one's metadata log.
    const unlock = dataDir === undefined ? undefined : await lockDataDir(dataDir, BROKER_LOCK_FILE);
    try {
      const broker =
        nodes === 1 ? await startLocalBroker(options) : await startLocalCluster({ ...options, nodes });
      process.stdout.write(`${broker.brokers.join(',')}\n`);
      await untilSignal();
      await broker.stop();
      return 0;
    } finally {
      unlock?.();
    }
  },
};
