import { describe, expect, it } from 'vitest';
import { LegalHolds, auditMigrations } from '../../src/audit/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';

let db: Database;

useMigratedEngine('legal_holds', auditMigrations, (opened) => (db = opened));

describe('legal holds', () => {
  it('a later set wins over an earlier release across skewed clocks (regression: the revision came from the last row time)', async () => {
    const holds = new LegalHolds(db);
    const t = Date.UTC(2026, 0, 1);
    // Instance A runs 5 s ahead of B: A sets a hold, B releases it, B sets it again.
    await holds.write('m', true, 'litigation', 'admin-a', t + 5_000);
    await holds.write('m', false, 'settled', 'admin-b', t + 100);
    expect(await holds.get('m')).toMatchObject({ held: false, reason: 'settled' });
    await holds.write('m', true, 'appeal', 'admin-b', t + 200);
    expect(await holds.get('m')).toMatchObject({ held: true, reason: 'appeal', principal: 'admin-b' });
    expect(await holds.held()).toEqual(['m']);
  });
});
