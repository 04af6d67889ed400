import { describe, expect, it } from 'vitest';
import { auth } from '../../src/auth/index.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * Behind a proxy (MODELWATCH_TRUST_PROXY names it), the per-address limits count each client by
 * the address the proxy forwards; a peer that is not a trusted proxy cannot pick the address it
 * is counted under by sending X-Forwarded-For.
 */

async function status(service: TestService, key: string, peer: string, forwarded?: string): Promise<number> {
  const response = await service.app.inject({
    method: 'GET',
    url: '/api/v1/models',
    remoteAddress: peer,
    headers: { authorization: `Bearer ${key}`, ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) },
  });
  return response.statusCode;
}

describe('rate limits behind a trusted proxy', () => {
  it('count the forwarded client behind the proxy, and the socket address of anyone else', async () => {
    const service = await startTestService({
      MODELWATCH_TRUST_PROXY: '10.1.0.0/16',
      MODELWATCH_RATE_LIMIT_AUTH_FAILURES: '3',
    });
    const viewer = await service.use(auth).keys.create('viewer', 'proxy-viewer');
    const proxy = '10.1.2.3';
    const wrong = (i: number) => `wrong-key-${i}-0123456789abcdef`;

    // Client A through the proxy: its own budget of 3 failures, then 429 even with a valid key.
    for (let i = 0; i < 3; i++) expect(await status(service, wrong(i), proxy, '203.0.113.5')).toBe(401);
    expect(await status(service, viewer, proxy, '203.0.113.5')).toBe(429);
    // Client B through the same proxy is not affected; nor is the proxy itself without a header.
    expect(await status(service, viewer, proxy, '203.0.113.6')).toBe(200);
    expect(await status(service, viewer, proxy)).toBe(200);
    // A client-supplied chain through the proxy: the right-most untrusted address is the client.
    expect(await status(service, viewer, proxy, '198.51.100.1, 203.0.113.5')).toBe(429);
    expect(await status(service, viewer, proxy, '203.0.113.5, 198.51.100.1')).toBe(200);

    // A peer outside the trusted range is counted by its socket address, whatever it forwards.
    const direct = '192.0.2.44';
    for (let i = 0; i < 3; i++)
      expect(await status(service, wrong(i), direct, `203.0.113.${100 + i}`)).toBe(401);
    expect(await status(service, viewer, direct, '203.0.113.200')).toBe(429);
    expect(await status(service, viewer, '192.0.2.45', '192.0.2.44')).toBe(200);
  }, 120_000);
});
