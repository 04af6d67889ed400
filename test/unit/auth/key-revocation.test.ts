import { describe, expect, it } from 'vitest';
import { KeyStore, hashKey } from '../../../src/auth/index.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';

const KEY = 'mw_revoked-while-read-0123456789';
const HASH = hashKey(KEY);

/**
 * `api_keys` holding one active key, whose authentication reads can be held: each read answers
 * from the table as it was when the read began, as a query that began before an insert does.
 */
function fakeKeys() {
  let revoked = false;
  const held: (() => void)[] = [];
  let holdNext = false;
  let reads = 0;
  const rows = (active: boolean) => (active ? [{ name: 'dash', role: 'viewer' }] : []);
  const query = ({ query }: { query: string }) => {
    if (query.includes('startsWith(key_hash')) {
      const found = revoked
        ? []
        : [{ key_hash: HASH, name: 'dash', role: 'viewer', issued_ms: 1, version_ms: 1 }];
      return Promise.resolve({ json: () => Promise.resolve(found) });
    }
    reads += 1;
    const found = rows(!revoked);
    const answer = { json: () => Promise.resolve(found) };
    if (!holdNext) return Promise.resolve(answer);
    holdNext = false;
    return new Promise((resolve) => held.push(() => resolve(answer)));
  };
  const insert = () => {
    revoked = true;
    return Promise.resolve();
  };
  return {
    db: { client: { query, insert } } as unknown as Database,
    holdNextRead: () => (holdNext = true),
    releaseReads: () => held.splice(0).forEach((release) => release()),
    reads: () => reads,
  };
}

describe('revoking a key while it is being authenticated', () => {
  it('a read begun before the revocation answers, but is not cached: the next call is refused', async () => {
    const table = fakeKeys();
    const store = new KeyStore(table.db, undefined);
    table.holdNextRead();
    const inFlight = store.authenticate(KEY);
    await Promise.resolve();
    expect(table.reads()).toBe(1);

    expect(await store.revoke(HASH.slice(0, 16))).toMatchObject({ name: 'dash', revoked: true });
    table.releaseReads();
    // Read before the revocation was stored: the key was valid when this request came.
    expect(await inFlight).toEqual({ name: 'dash', role: 'viewer' });

    // Regression: that answer was cached after the revocation cleared the cache, so the revoked
    // key kept working on this instance for 10 s.
    expect(await store.authenticate(KEY)).toBeUndefined();
    expect(table.reads()).toBe(2);
    expect(store.cacheSize).toBe(1);
  });

  it('a read after the revocation is cached as usual', async () => {
    const table = fakeKeys();
    const store = new KeyStore(table.db, undefined);
    expect(await store.authenticate(KEY)).toEqual({ name: 'dash', role: 'viewer' });
    expect(await store.authenticate(KEY)).toEqual({ name: 'dash', role: 'viewer' });
    expect(table.reads()).toBe(1);
    await store.revoke(HASH.slice(0, 16));
    expect(await store.authenticate(KEY)).toBeUndefined();
    expect(await store.authenticate(KEY)).toBeUndefined();
    expect(table.reads()).toBe(2);
  });
});
