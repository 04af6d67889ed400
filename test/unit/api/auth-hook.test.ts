import type { FastifyPluginAsync } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { clientAddress } from '../../../src/api/rate-limit.js';
import { KEYS, UNIT_LIMITS, message, stubApp } from './stub-app.js';

const probes: FastifyPluginAsync = (api) => {
  api.get('/probe', { config: { role: 'viewer' } }, () => ({ ok: true }));
  return Promise.resolve();
};

const LIMITS = { ...UNIT_LIMITS, authFailuresPerAddress: 3 };

describe('calls without a key (review 27 F2)', () => {
  it('have a budget of their own that refuses only key-less calls: a valid key from that address passes', async () => {
    const { app, call } = await stubApp([probes], LIMITS);
    const from = (remoteAddress: string, key?: string) =>
      call({ method: 'GET', url: '/api/v1/probe', remoteAddress, key });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await from('10.0.0.1')).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    const refused = await from('10.0.0.1');
    expect(message(refused)).toMatch(/^too many calls without an API key from this address; retry in \d+ s$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // A malformed header presents no key either: the same budget.
    const token = await call({
      method: 'GET',
      url: '/api/v1/probe',
      remoteAddress: '10.0.0.1',
      headers: { authorization: `Token ${KEYS.viewer}` },
    });
    expect(token.statusCode).toBe(429);
    // Before the fix: 429 "too many failed authentications", the valid key locked out too.
    expect((await from('10.0.0.1', KEYS.viewer)).statusCode).toBe(200);
    expect((await from('10.0.0.1', KEYS.admin)).statusCode).toBe(200);
    await app.close();
  });

  it('leave the wrong-key lockout as it was: past it every call from the address is refused, a valid key too', async () => {
    const { app, call } = await stubApp([probes], LIMITS);
    const from = (key?: string) =>
      call({ method: 'GET', url: '/api/v1/probe', remoteAddress: '10.0.0.2', key });
    for (let i = 0; i < 3; i++) expect((await from(`mw_wrong-${i}`)).statusCode).toBe(401);
    const locked = await from(KEYS.viewer);
    expect(locked.statusCode).toBe(429);
    expect(message(locked)).toMatch(/^too many failed authentications from this address/);
    expect((await from()).statusCode).toBe(429);
    // Another address is not affected.
    expect(
      (await call({ method: 'GET', url: '/api/v1/probe', remoteAddress: '10.0.0.3', key: KEYS.viewer }))
        .statusCode,
    ).toBe(200);
    await app.close();
  });
});

describe('an unknown route (review 27 F4)', () => {
  it('is the same 404 for every role once the key authenticated, and 401 without a valid key', async () => {
    const { app, call } = await stubApp([probes]);
    for (const key of [KEYS.viewer, KEYS.auditor, KEYS.admin]) {
      const answer = await call({ method: 'GET', url: '/api/v1/nope', key });
      expect(answer.statusCode, key).toBe(404);
      expect(message(answer)).toBe('no route GET /api/v1/nope');
    }
    expect((await call({ method: 'DELETE', url: '/api/v1/probe', key: KEYS.viewer })).statusCode).toBe(404);
    expect((await call({ method: 'GET', url: '/api/v1/nope' })).statusCode).toBe(401);
    expect((await call({ method: 'GET', url: '/api/v1/nope', key: 'mw_wrong' })).statusCode).toBe(401);
    // A known admin route still refuses a viewer.
    expect((await call({ method: 'GET', url: '/api/v1/keys', key: KEYS.viewer })).statusCode).toBe(403);
    await app.close();
  });
});

describe('an Authorization header that is not Bearer (review 27 F11)', () => {
  it('answers 401 saying the header must be Bearer <key>, not that the key is missing', async () => {
    const { app, call } = await stubApp([probes]);
    const withHeader = (authorization: string) =>
      call({ method: 'GET', url: '/api/v1/probe', headers: { authorization } });
    for (const header of [`Token ${KEYS.viewer}`, KEYS.viewer, 'Bearer', `Basic ${btoa('a:b')}`]) {
      const answer = await withHeader(header);
      expect(answer.statusCode, header).toBe(401);
      expect(message(answer), header).toBe('the Authorization header must be Bearer <key>');
    }
    const none = await call({ method: 'GET', url: '/api/v1/probe' });
    expect(message(none)).toBe('missing API key: send Authorization: Bearer <key>');
    expect((await withHeader(`bearer ${KEYS.viewer}`)).statusCode).toBe(200);
    await app.close();
  });
});

describe('a method the audit trail cannot record (PROPFIND, TRACE, SEARCH…)', () => {
  it('is a 501 before its key is looked at: no guess with it goes unaudited (regression: 401, unaudited)', async () => {
    const { app, call, audited } = await stubApp([probes], LIMITS);
    const from = (method: string, key?: string) =>
      call({ method, url: '/api/v1/probe', remoteAddress: '10.0.0.4', key });
    // More wrong keys than the lockout allows: none of them was checked.
    for (const method of ['PROPFIND', 'TRACE', 'SEARCH', 'LOCK']) {
      const answer = await from(method, `mw_wrong-${method}`);
      expect(answer.statusCode, method).toBe(501);
      expect(message(answer), method).toMatch(new RegExp(`^method ${method} is not served: use GET, HEAD, `));
    }
    expect((await from('PROPFIND', KEYS.admin)).statusCode).toBe(501);
    expect((await from('GET', KEYS.viewer)).statusCode).toBe(200);
    await vi.waitFor(() => expect(audited.map((r) => r.action)).toEqual(['GET /api/v1/probe']));
    await app.close();
  });
});

describe('per-address limits for an IPv6 client', () => {
  it('count its /64, not each address it picks from it (regression: a fresh budget per address)', async () => {
    const { app, call } = await stubApp([probes], LIMITS);
    const from = (remoteAddress: string, key: string) =>
      call({ method: 'GET', url: '/api/v1/probe', remoteAddress, key });
    for (let i = 1; i <= 3; i++) expect((await from(`2001:db8:1:2::${i}`, 'mw_wrong')).statusCode).toBe(401);
    // Before the fix: 401 for a 4th wrong key and 200 here.
    expect((await from('2001:db8:1:2:ffff::4', 'mw_wrong')).statusCode).toBe(429);
    expect((await from('2001:0db8:0001:0002::99', KEYS.viewer)).statusCode).toBe(429);
    expect((await from('2001:db8:1:3::1', KEYS.viewer)).statusCode).toBe(200);
    await app.close();
  });

  it('keep an IPv4 client (mapped into IPv6 too) on its own address', () => {
    expect(clientAddress('203.0.113.5')).toBe('203.0.113.5');
    expect(clientAddress('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(clientAddress('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(clientAddress('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(clientAddress('::1')).toBe('0:0:0:0::/64');
  });
});
