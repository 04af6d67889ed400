import { loadConfig } from '../../platform/config/index.js';
import { assertJavaAndMaven, resolveKafkaJars, startLocalBroker } from '../../platform/kafka/index.js';
import { createLogger } from '../../platform/observability/index.js';
import { parseOptions, untilSignal, type Command } from '../../platform/cli/index.js';

export const kafkaCommand: Command = {
  async run(args) {
    const { values } = parseOptions(
      args,
      { 'data-dir': { type: 'string' }, 'resolve-only': { type: 'boolean' } },
      'modelwatch kafka [--data-dir DIR] [--resolve-only]',
    );
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    if (values['resolve-only']) {
      await assertJavaAndMaven();
      const libs = await resolveKafkaJars(config.kafka.localVersion, config.cacheDir, logger);
      process.stdout.write(`Apache Kafka ${config.kafka.localVersion} jars in ${libs}\n`);
      return 0;
    }
    const broker = await startLocalBroker({
      version: config.kafka.localVersion,
      cacheDir: config.cacheDir,
      dataDir: values['data-dir'],
      logger,
    });
    process.stdout.write(`${broker.brokers.join(',')}\n`);
    await untilSignal();
    await broker.stop();
    return 0;
  },
};
