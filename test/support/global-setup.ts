import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
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

/** What the projects that run against Kafka share: one broker and one temporary directory. */
interface SharedRun {
  brokers: string[];
  projects: number;
  end(): Promise<void>;
}

// Vitest runs a global setup once per project that names it; the projects share one run (set up
// by the first, ended by the last) through the main process's globals.
const shared = globalThis as typeof globalThis & { modelwatchTestRun?: Promise<SharedRun> };

/** One real broker for the whole run: MODELWATCH_KAFKA_BROKERS, else Docker, else Maven + java. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const run = await (shared.modelwatchTestRun ??= startRun());
  run.projects += 1;
  project.provide('kafkaBrokers', run.brokers);
  return async () => {
    run.projects -= 1;
    if (run.projects > 0) return;
    delete shared.modelwatchTestRun;
    await run.end();
  };
}

async function startRun(): Promise<SharedRun> {
  // Every temporary file of the run goes under one directory, removed when the run ends: a test
  // worker is ended without an `exit` event, so the engine data dir it removes on exit stayed
  // behind (~50–100 directories of up to 430 MB a run). The workers and the processes the tests
  // start inherit TMPDIR. The kafkajs flight recordings a failing fault test points to are kept.
  const systemTmp = tmpdir();
  const runDir = mkdtempSync(path.join(systemTmp, 'modelwatch-test-run-'));
  process.env['TMPDIR'] = runDir;
  stopIdleRequestQueuePolling();
  const config = loadConfig();
  let broker: LocalBroker | undefined;
  if (!config.kafka.brokers) {
    broker = await startLocalBroker({
      version: config.kafka.localVersion,
      cacheDir: config.cacheDir,
      logger: createLogger('warn', 'test-broker'),
      // The JIT's first tier only: the broker's work in a run is light, and its C2 compiler
      // threads were most of its CPU (14 of 25 CPU s in 80 s of eight files; 9 CPU s less without
      // them), on two cores the test files need.
      jvmOptions: ['-XX:TieredStopAtLevel=1'],
    });
  }
  return {
    brokers: config.kafka.brokers ?? broker?.brokers ?? [],
    projects: 0,
    async end() {
      await broker?.stop();
      for (const name of readdirSync(runDir).filter((n) => n.startsWith('modelwatch-kafkajs-')))
        renameSync(path.join(runDir, name), path.join(systemTmp, name));
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
