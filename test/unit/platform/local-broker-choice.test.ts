import { describe, expect, it } from 'vitest';
import { chooseBrokerBackend } from '../../../src/platform/kafka/local-broker/start-broker.js';

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
});
