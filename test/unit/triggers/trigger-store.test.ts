import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';
import { toPayload, type Firing } from '../../../src/triggers/engine/trigger.js';
import { TriggerStore } from '../../../src/triggers/index.js';
import { allMigrations } from '../../support/migrations.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2);

const trigger = (hour: number, extra: Partial<Firing> = {}) =>
  toPayload(
    {
      modelId: 'm',
      version: '1',
      reason: 'drift',
      start: T0 + hour * HOUR,
      end: T0 + (hour + 1) * HOUR,
      evidence: {},
      ...extra,
    },
    { drift: { columns: ['a'] } },
    T0 + 9 * HOUR + hour,
  );

const delivery = (t: ReturnType<typeof trigger>) => ({
  triggerId: t.trigger_id,
  modelId: t.model_id,
  partition: 0,
  offset: '0',
  publishedAt: T0 + 10 * HOUR,
});

describe('the trigger store (embedded engine)', () => {
  let db: Database;
  let dataDir: string;
  let store: TriggerStore;
  const before = trigger(0);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-trigger-store-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'trigger_store', dataDir });
    store = new TriggerStore(db);
    // A trigger delivered (and audited right after its send) before the audit table existed.
    await migrate(
      db,
      allMigrations.filter((m) => m.version !== 32),
    );
    await store.insert([before]);
    await store.recordDeliveries([delivery(before)]);
    await migrate(db, allMigrations);
  });

  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists delivered triggers never audited, oldest first, until their audit is recorded', async () => {
    const [a, b, pending] = [trigger(1), trigger(2), trigger(3)];
    await store.insert([b, pending, a]);
    await store.recordDeliveries([delivery(a), delivery(b)]);
    // Not `before`: the migration took the triggers delivered until then as audited.
    expect((await store.unaudited()).map((t) => t.trigger_id)).toEqual([a.trigger_id, b.trigger_id]);
    expect((await store.unaudited())[0]).toEqual(a);
    await store.recordAudits([a]);
    expect((await store.unaudited()).map((t) => t.trigger_id)).toEqual([b.trigger_id]);
    await store.recordAudits([b, b]);
    expect(await store.unaudited()).toEqual([]);
  });

  it("gives the cooldown a segment trigger's segmentation, and nothing for other reasons", async () => {
    const segment = (key: string) =>
      trigger(20, { reason: 'segment', key, evidence: { segmentation: key, segments: [] } });
    await store.insert([segment('feature:region'), segment('tag:channel'), trigger(20)]);
    const near = await store.near('m', T0 + 21 * HOUR, T0 + 21 * HOUR);
    expect(near.map((t) => [t.reason, t.key]).sort()).toEqual([
      ['drift', undefined],
      ['segment', 'feature:region'],
      ['segment', 'tag:channel'],
    ]);
  });
});
