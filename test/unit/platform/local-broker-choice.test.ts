import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { isModelwatchError } from '../../../src/platform/errors.js';
import {
  chooseBrokerBackend,
  startLocalBroker,
} from '../../../src/platform/kafka/local-broker/start-broker.js';
import { createLogger } from '../../../src/platform/observability/index.js';

function freshDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mw-broker-choice-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What startLocalBroker throws on a machine with neither java nor mvn (nor docker) on the PATH. */
async function startFailure(dataDir: string | undefined): Promise<string> {
  const work = freshDir();
  vi.stubEnv('PATH', freshDir());
  // The throwaway broker's temporary folder goes here, removed with it.
  vi.stubEnv('TMPDIR', work);
  const error = await startLocalBroker({
    version: '4.1.1',
    cacheDir: work,
    logger: createLogger('silent'),
    ...(dataDir === undefined ? {} : { dataDir }),
  }).then(
    () => new Error('started'),
    (err: unknown) => err,
  );
  expect(isModelwatchError(error, 'BROKER_SETUP'), String(error)).toBe(true);
  return (error as Error).message;
}

describe('which local broker starts', () => {
  it('is the Maven broker whenever a data dir is given, Docker answering or not (kafka --data-dir, up)', async () => {
    let asked = 0;
    const docker = () => {
      asked++;
      return Promise.resolve(true);
    };
    const choice = await chooseBrokerBackend('/var/lib/modelwatch/kafka', docker);
    expect(choice.backend).toBe('maven');
    expect(choice.reason).toBe('keeps its data in /var/lib/modelwatch/kafka (a Docker broker would not)');
    // Not even asked: `docker info` costs up to 5 s.
    expect(asked).toBe(0);
  });

  it('is Docker for a throwaway broker when an engine answers, else Maven', async () => {
    expect((await chooseBrokerBackend(undefined, () => Promise.resolve(true))).backend).toBe('docker');
    expect((await chooseBrokerBackend(undefined, () => Promise.resolve(false))).backend).toBe('maven');
  });

  describe('without java and mvn', () => {
    afterEach(() => vi.unstubAllEnvs());

    it("names what up's broker needs, and not Docker, which up does not use (a data dir)", async () => {
      const dataDir = path.join(freshDir(), 'kafka');
      const message = await startFailure(dataDir);
      expect(message).toBe(
        'no Kafka broker: the local broker is Apache Kafka from Maven Central, run with java (17 or newer) ' +
          'and resolved with mvn (Apache Maven); install java (17 or newer) and mvn (Apache Maven) ' +
          '(Debian: apt-get install openjdk-17-jre-headless maven), or set MODELWATCH_KAFKA_BROKERS to a running broker',
      );
      expect(message).not.toMatch(/docker/i);
    });

    it('names a Docker engine too for a throwaway broker, where one would be used', async () => {
      const message = await startFailure(undefined);
      expect(message).toMatch(
        /; install java \(17 or newer\) and mvn .*, or start a Docker engine, or set MODELWATCH_KAFKA_BROKERS$/,
      );
    });
  });
});
