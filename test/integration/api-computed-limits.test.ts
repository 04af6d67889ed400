import { describe, expect, it } from 'vitest';
import { auth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * Routes computed on request over a caller-chosen range (metrics, drift, quality, shadow,
 * estimated performance) are flagged `computed`: unlimited by default, limited per key and per
 * address once MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY / _PER_ADDRESS are set.
 */

const COMPUTED = [
  '/api/v1/models/credit-risk/metrics?bucket=1h',
  '/api/v1/models/credit-risk/drift',
  '/api/v1/models/credit-risk/quality',
  '/api/v1/models/credit-risk/shadow',
  '/api/v1/models/credit-risk/estimated-performance',
];

async function status(service: TestService, url: string, key: string, address = '10.9.0.1'): Promise<number> {
  const response = await service.app.inject({
    method: 'GET',
    url,
    remoteAddress: address,
    headers: { authorization: `Bearer ${key}` },
  });
  return response.statusCode;
}

describe('limits on computed routes', () => {
  it('are off by default; bad values are refused naming the variable', () => {
    const limits = loadConfig({}).api.rateLimits;
    expect(limits.computedPerKey).toBeUndefined();
    expect(limits.computedPerAddress).toBeUndefined();
    expect(loadConfig({ MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY: '600' }).api.rateLimits.computedPerKey).toBe(
      600,
    );
    for (const bad of ['0', '-1', '1.5', 'lots', '1e12'])
      expect(() => loadConfig({ MODELWATCH_RATE_LIMIT_COMPUTED_PER_ADDRESS: bad }), bad).toThrow(
        /MODELWATCH_RATE_LIMIT_COMPUTED_PER_ADDRESS/,
      );
  });

  it('count every computed route in one budget per key and per address, once configured', async () => {
    const service = await startTestService({
      MODELWATCH_RATE_LIMIT_COMPUTED_PER_KEY: String(COMPUTED.length),
      MODELWATCH_RATE_LIMIT_COMPUTED_PER_ADDRESS: String(COMPUTED.length + 2),
    });
    const keys = service.use(auth).keys;
    const a = await keys.create('viewer', 'computed-a');
    const b = await keys.create('viewer', 'computed-b');
    // Each flagged route is answered (whatever its status for this unknown model), then the key's budget is spent.
    for (const url of COMPUTED) expect(await status(service, url, a), url).not.toBe(429);
    for (const url of COMPUTED) expect(await status(service, url, a), url).toBe(429);
    // Routes not flagged are not counted.
    expect(await status(service, '/api/v1/models', a)).toBe(200);
    expect(await status(service, '/api/v1/retrain-triggers', a)).toBe(200);
    // Another key from the same address: two more calls, then the address's budget is spent.
    expect(await status(service, COMPUTED[0] ?? '', b)).not.toBe(429);
    expect(await status(service, COMPUTED[1] ?? '', b)).not.toBe(429);
    expect(await status(service, COMPUTED[2] ?? '', b)).toBe(429);
    expect(await status(service, COMPUTED[2] ?? '', b, '10.9.0.2')).not.toBe(429);
  }, 120_000);
});
