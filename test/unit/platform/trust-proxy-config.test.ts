import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/platform/config/index.js';

const trust = (value: string | undefined) =>
  loadConfig(value === undefined ? {} : { MODELWATCH_TRUST_PROXY: value }).api.trustProxy;

describe('MODELWATCH_TRUST_PROXY', () => {
  it('defaults to the socket address and reads false, true, hop counts and address lists', () => {
    expect(trust(undefined)).toBe(false);
    expect(trust('')).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, 127.0.0.1,::1,fd00::/8')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
    ]);
  });

  it('refuses what is not a proxy setting, naming the variable', () => {
    for (const bad of [
      '0',
      '33',
      'yes',
      'proxy.example.com',
      '10.0.0.0/33',
      '::1/129',
      '10.0.0.1/8/2',
      '10.0.0.1,',
      '999.1.1.1',
      `${'1.1.1.1,'.repeat(600)}1.1.1.1`,
      "1.1.1.1' OR 1=1",
    ])
      expect(() => trust(bad), bad).toThrow(/MODELWATCH_TRUST_PROXY/);
  });
});
