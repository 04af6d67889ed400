import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnBroker, stopBrokerProcess } from '../../../src/platform/kafka/local-broker/maven-broker.js';

// A stand-in `java` first on the PATH: the lifeline shell runs whatever `java` it finds.
const bin = mkdtempSync(path.join(tmpdir(), 'mw-lifeline-'));
const pidFile = path.join(bin, 'jvm.pid');
const originalPath = process.env['PATH'];
afterAll(() => {
  process.env['PATH'] = originalPath;
  rmSync(bin, { recursive: true, force: true });
});

function fakeJava(script: string): void {
  writeFileSync(path.join(bin, 'java'), `#!/bin/sh\necho $$ > ${pidFile}\n${script}\n`);
  chmodSync(path.join(bin, 'java'), 0o755);
  process.env['PATH'] = `${bin}:${originalPath ?? ''}`;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function jvmPid(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = (() => {
      try {
        return readFileSync(pidFile, 'utf8').trim();
      } catch {
        return '';
      }
    })();
    if (text !== '') return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the stand-in JVM did not start');
}

describe('the local broker lifeline', () => {
  it('ends as soon as the JVM dies at start-up, with its exit code', async () => {
    fakeJava('exit 3');
    const child = spawnBroker([], 'ignore');
    const [code] = (await Promise.race([
      once(child, 'exit'),
      new Promise((resolve) => setTimeout(() => resolve(['still running']), 3_000)),
    ])) as [unknown];
    expect(code).toBe(3);
  });

  it('stops the JVM when stopped, and returns at once for a shell already killed by a signal', async () => {
    rmSync(pidFile, { force: true });
    fakeJava('exec sleep 30');
    const child = spawnBroker([], 'ignore');
    const jvm = await jvmPid();
    await stopBrokerProcess(child);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(jvm)).toBe(false);

    rmSync(pidFile, { force: true });
    const killed = spawnBroker([], 'ignore');
    const orphan = await jvmPid();
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    const started = Date.now();
    await stopBrokerProcess(killed);
    expect(Date.now() - started).toBeLessThan(1_000);
    process.kill(orphan, 'SIGKILL');
  });
});
