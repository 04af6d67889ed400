import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
  // Every temporary file of the run goes under one directory, removed when the run ends: a test
  // worker is ended without an `exit` event, so the engine data dir it removes on exit stayed
  // behind (~50–100 directories of up to 430 MB a run). The workers and the processes the tests
  // start inherit TMPDIR.
  const runDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-test-run-'));
  process.env['TMPDIR'] = runDir;
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
    rmSync(runDir, { recursive: true, force: true });
  };
}
