/**
 * A model's policy sections are stored one row each: two PUTs naming different sections at once
 * both stay (one row for the whole policy kept whichever insert won, losing the other's section),
 * and migration 22 carries the policies stored before it over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyStore } from '../../src/drift/store/policies.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { allMigrations } from '../support/migrations.js';

const NOW = Date.UTC(2026, 11, 6, 3, 0);
let dataDir: string;
let db: Database;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-policy-sections-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'policy_sections', dataDir });
  await migrate(
    db,
    allMigrations.filter((m) => m.version < 22),
  );
  await db.client.insert({
    table: 'model_policies',
    values: [
      {
        model_id: 'before',
        policy: JSON.stringify({ drift: { method: 'psi' }, retrain: { rules: [] } }),
        revision: NOW - 5000,
        updated_by: 'admin-key',
        updated_at: NOW - 5000,
      },
    ],
    format: 'JSONEachRow',
  });
  await migrate(db, allMigrations);
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('model policy sections', () => {
  it('carries a policy stored before migration 22 over, section by section', async () => {
    expect(await new PolicyStore(db).get('before')).toEqual({
      sections: { drift: { method: 'psi' }, retrain: { rules: [] } },
      revision: NOW - 5000,
      updatedAt: NOW - 5000,
      updatedBy: 'admin-key',
    });
  });

  it('keeps both of two PUTs of different sections made at the same time', async () => {
    const store = new PolicyStore(db);
    await Promise.all([
      store.put('both', { drift: { method: 'ks' } }, 'one', NOW),
      store.put('both', { retrain: { rules: [{ kind: 'drift' }] } }, 'two', NOW),
    ]);
    expect((await store.get('both'))?.sections).toEqual({
      drift: { method: 'ks' },
      retrain: { rules: [{ kind: 'drift' }] },
    });
  });

  it('replaces a section named again and keeps the others', async () => {
    const store = new PolicyStore(db);
    await store.put('again', { drift: { method: 'ks' }, segments: { by: ['region'] } }, 'one', NOW);
    await store.put('again', { drift: { method: 'wasserstein' } }, 'two', NOW);
    const stored = await store.get('again');
    expect(stored).toMatchObject({
      sections: { drift: { method: 'wasserstein' }, segments: { by: ['region'] } },
      revision: NOW + 1,
      updatedBy: 'two',
    });
    expect(await store.get('never')).toBeUndefined();
  });
});
