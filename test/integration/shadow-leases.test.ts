import { describe, expect, it } from 'vitest';
import type { ModelVersionRecord } from '../../src/models/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { SlotLeases } from '../../src/shadow/leases.js';
import { useMigratedEngine } from '../support/engine.js';
import { allMigrations } from '../support/migrations.js';

/**
 * Leases on the real engine: a slot given back (an instance stopping, or giving up what is over
 * its share) is free for the next instance at once, not after the lease's TTL. Written with an
 * expiry of 0, the rows given back fell to the table's TTL as they were inserted, and the claims
 * they were to end held until they expired (15 s by default).
 */
describe('shadow slot leases', () => {
  let db: Database;
  let n = 0;
  const challenger = () => ({ model_id: `leases-${n++}`, model_version: '2' }) as ModelVersionRecord;
  const leases = (holder: string) => new SlotLeases(db, { holder, ttlMs: 600_000, settleMs: 0 });

  useMigratedEngine('shadow_leases', allMigrations, (opened) => (db = opened));

  it('a stopping instance gives its slots back: the next one takes them all at once', async () => {
    const c = challenger();
    const [a, b] = [leases('a'), leases('b')];
    expect(await a.maintain(c)).toEqual([0, 1, 2, 3]);
    expect(await b.maintain(c)).toEqual([]);
    await a.release(c);
    expect(await b.maintain(c)).toEqual([0, 1, 2, 3]);
  });

  it('an instance over its share gives the rest back, and the newcomer takes them on its next pass', async () => {
    const c = challenger();
    const [a, b] = [leases('a'), leases('b')];
    await a.maintain(c);
    // b is a member now, holding nothing: a keeps its share and gives two slots back.
    expect(await b.maintain(c)).toEqual([]);
    expect(await a.maintain(c)).toEqual([0, 1]);
    expect(await b.maintain(c)).toEqual([2, 3]);
  });
});
