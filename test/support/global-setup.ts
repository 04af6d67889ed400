import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/platform/config/index.js';
import {
  stopIdleRequestQueuePolling,
  startLocalBroker,
  type LocalBroker,
} from '../../src/platform/kafka/index.js';
import { createLogger } from '../../src/platform/observability/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

/** One real broker for the whole run: MODELWATCH_KAFKA_BROKERS, else Docker, else Maven + java. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  stopIdleRequestQueuePolling();
  const config = loadConfig();
  let broker: LocalBroker | undefined;
  if (!config.kafka.brokers) {
    broker = await startLocalBroker({
      version: config.kafka.localVersion,
      cacheDir: config.cacheDir,
      logger: createLogger('warn', 'test-broker'),
    });
  }
  project.provide('kafkaBrokers', config.kafka.brokers ?? broker?.brokers ?? []);
  return async () => {
    await broker?.stop();
  };
}
