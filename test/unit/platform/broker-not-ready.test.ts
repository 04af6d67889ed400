import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorMessage } from '../../../src/platform/errors.js';
import { openBrokerLog, waitUntilReady } from '../../../src/platform/kafka/local-broker/maven-broker.js';

const dir = mkdtempSync(path.join(tmpdir(), 'mw-broker-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let starts = 0;

/** The error of a start whose broker process already ended, with `lines` logged by this start. */
async function notReadyError(lines: string[]): Promise<string> {
  const file = path.join(dir, `broker-${++starts}.log`);
  // An earlier run's failure in the same file (it is appended to across runs).
  writeFileSync(file, '[main] ERROR kafka.Kafka$ - an earlier run\n');
  const { fd, log } = openBrokerLog(file);
  appendFileSync(fd, lines.map((line) => `${line}\n`).join(''));
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return waitUntilReady('127.0.0.1:1', child, 5_000, log).then(
    () => 'ready',
    (err: unknown) => errorMessage(err),
  );
}

describe('a local broker that does not become ready', () => {
  it("is reported in one line: this start's last error, not the stack under it", async () => {
    const lock =
      'org.apache.kafka.common.KafkaException: Failed to acquire lock on file .lock in /d/logs. A Kafka instance in another process or thread is using this directory.';
    const message = await notReadyError([
      '[main] ERROR kafka.Kafka$ - Exiting Kafka due to fatal exception during startup.',
      lock,
      '\tat kafka.log.LogManager.lockLogDirs(LogManager.scala:259)',
      '\tat kafka.Kafka.main(Kafka.scala)',
      '[kafka-shutdown-hook] WARN org.apache.kafka.clients.NetworkClient - already closed.',
    ]);
    expect(message).toBe(
      `local Kafka broker did not become ready on 127.0.0.1:1 (log ${path.join(dir, 'broker-1.log')}): ${lock}`,
    );
  });

  it('names the root cause of a chained exception, or the last line when none is an error', async () => {
    const cause = await notReadyError([
      'java.lang.RuntimeException: startup failed',
      '\tat kafka.Kafka.main(Kafka.scala)',
      'Caused by: java.net.BindException: Address already in use',
      '\tat sun.nio.ch.Net.bind(Net.java:565)',
    ]);
    expect(cause).toMatch(/\): Caused by: java\.net\.BindException: Address already in use$/);
    const quiet = await notReadyError(['[main] WARN kafka.server - slow start', '']);
    expect(quiet).toMatch(/\): \[main\] WARN kafka\.server - slow start$/);
  });
});
