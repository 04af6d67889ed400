import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChainWriter,
  LegalHolds,
  RetentionJob,
  auditMigrations,
  changeRecord,
  readAnchors,
  runAnchorRecordSqlCheck,
  verifyStore,
  type AuditRecorder,
} from '../../src/audit/index.js';
import { insertAnchor } from '../../src/audit/anchors.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { sampleRecord } from '../unit/audit/rows.js';

/**
 * A retention anchor must be backed by the `retention.delete` record chained before it: a
 * forged anchor with a deleted prefix is found, with the verifier and with SQL alone. The
 * retention job (its recorder chaining straight into chain `r`, as the audit consumer would
 * through Kafka) stores an anchor only once its record is chained.
 */

let db: Database;
let dataDir: string;
const T0 = Date.UTC(2026, 0, 1);
const writers = new Map<string, ChainWriter>();

async function writer(chain: string): Promise<ChainWriter> {
  const existing = writers.get(chain);
  if (existing) return existing;
  const opened = await ChainWriter.open(db, chain, { now: () => T0 + 86_400_000 * 365 });
  writers.set(chain, opened);
  return opened;
}

async function hashAt(chain: string, position: number): Promise<string> {
  const result = await db.client.query({
    query: 'SELECT hash FROM audit_events WHERE chain = {chain:String} AND position = {position:UInt64}',
    query_params: { chain, position },
    format: 'JSONEachRow',
  });
  return (await result.json<{ hash: string }>())[0]?.hash ?? '';
}

async function deletePrefix(chain: string, through: number): Promise<void> {
  await db.client.command({
    query: 'ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position <= {through:UInt64}',
    query_params: { chain, through },
    clickhouse_settings: { mutations_sync: '2' },
  });
}

/** Chains the retention record into chain `r`, as the audit consumer does with what Kafka carries. */
const chainingRecorder: AuditRecorder = {
  async change(change) {
    const record = changeRecord({ ...change, at: change.at ?? T0 + 86_400_000 * 200 });
    await (await writer('r')).append([{ record }]);
  },
};

function job(recorder: AuditRecorder, recordWaitMs = 10_000): RetentionJob {
  return new RetentionJob({
    db,
    recorder,
    holds: new LegalHolds(db),
    logger: createLogger('silent', 'retention-test'),
    policy: { predictionsMs: undefined, labelsMs: undefined, auditMs: 30 * 86_400_000 },
    recordWaitMs,
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-anchor-records-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'anchor_records', dataDir });
  await migrate(db, auditMigrations);
  // Chains x and y: old records (2026-01-01 on); then one recent record each, which retention keeps.
  for (const chain of ['x', 'y']) {
    const old = Array.from({ length: 30 }, (_, i) => ({ record: sampleRecord(i) }));
    await (await writer(chain)).append(old);
    await (await writer(chain)).append([{ record: { ...sampleRecord(99), at: T0 + 86_400_000 * 300 } }]);
  }
  await (await writer('r')).append([{ record: { ...sampleRecord(1), at: T0 + 86_400_000 * 300 } }]);
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('retention anchors and their records', () => {
  it('does not store an anchor, or delete, while its record is not chained', async () => {
    const silent: AuditRecorder = { change: () => Promise.resolve() };
    const report = await job(silent, 600).run(T0 + 86_400_000 * 300);
    expect(report.audit).toEqual([]);
    expect(report.refused.map((r) => r.chain).sort()).toEqual(['x', 'y']);
    expect(report.refused[0]?.reason).toContain('not chained');
    expect(await readAnchors(db)).toEqual(new Map());
    expect(await verifyStore(db)).toMatchObject({ ok: true, checked: 63 });
  });

  it('trims with the record chained; what remains verifies, in JavaScript and in SQL', async () => {
    const report = await job(chainingRecorder).run(T0 + 86_400_000 * 300);
    expect(report.audit.map((t) => [t.chain, t.through_position]).sort()).toEqual([
      ['x', 30],
      ['y', 30],
    ]);
    expect(report.refused).toEqual([]);
    expect([...(await readAnchors(db)).keys()].sort()).toEqual(['x', 'y']);
    expect(await verifyStore(db)).toMatchObject({ ok: true });
    expect(await runAnchorRecordSqlCheck(db)).toEqual([]);
  });

  it('finds a forged anchor over a deleted prefix', async () => {
    // A fresh chain z, whose prefix a forger deletes, writing an anchor with the real hash.
    await (await writer('z')).append(Array.from({ length: 12 }, (_, i) => ({ record: sampleRecord(i) })));
    const hash8 = await hashAt('z', 8);
    await deletePrefix('z', 8);
    await insertAnchor(db, { chain: 'z', position: 8, hash: hash8, cutoff_ms: T0, deleted_rows: 8 });
    const report = await verifyStore(db);
    expect(report.ok).toBe(false);
    expect(report.first_broken).toMatchObject({ chain: 'z', position: 8, reason: 'anchor_unrecorded' });
    expect(report.broken.map((b) => b.chain)).toEqual(['z']);
    expect(await runAnchorRecordSqlCheck(db)).toEqual([{ chain: 'z', position: 8 }]);
    // Without the forged anchor it is the gap it hides.
    expect((await verifyStore(db, { anchors: new Map(), chains: ['z'] })).first_broken).toMatchObject({
      chain: 'z',
      position: 1,
      reason: 'gap',
    });
    // A retention run refuses to trim a chain whose anchor is not recorded.
    const run = await job(chainingRecorder).run(T0 + 86_400_000 * 400);
    expect(run.refused.map((r) => r.chain)).toContain('z');
    // Every record of chain r is old by now, but r/2 and r/3 back the anchors of x and y: kept.
    expect(run.audit).toContainEqual({ chain: 'r', through_position: 1, deleted_rows: 1 });
    expect(await verifyStore(db, { chains: ['x', 'y', 'r'] })).toMatchObject({ ok: true });

    // A record for another hash does not back it.
    await chainingRecorder.change({
      principal: 'retention',
      action: 'retention.delete',
      resource_type: 'audit_chain',
      resource_id: 'z',
      details: {
        through_position: 8,
        through_hash: 'f'.repeat(64),
        cutoff: new Date(T0).toISOString(),
        rows: 8,
      },
    });
    expect((await verifyStore(db)).first_broken).toMatchObject({ chain: 'z', reason: 'anchor_unrecorded' });
  });

  it('does not accept a matching record that sits where its own chain is broken', async () => {
    // The forger inserts the matching record into chain r without linking it.
    const hash8 = (await readAnchors(db)).get('z')?.hash ?? '';
    const forged = JSON.stringify(
      changeRecord({
        at: T0 + 86_400_000 * 200,
        principal: 'retention',
        action: 'retention.delete',
        resource_type: 'audit_chain',
        resource_id: 'z',
        details: { through_position: 8, through_hash: hash8, rows: 8 },
      }),
    );
    const head = await db.client.query({
      query: "SELECT max(position) AS p FROM audit_events WHERE chain = 'r'",
      format: 'JSONEachRow',
    });
    const next = Number((await head.json<{ p: number }>())[0]?.p) + 1;
    await db.client.insert({
      table: 'audit_events',
      format: 'JSONEachRow',
      values: [
        {
          chain: 'r',
          position: next,
          prev_hash: '0'.repeat(64),
          hash: '1'.repeat(64),
          record: forged,
          kind: 'change',
          at: T0 + 86_400_000 * 200,
          principal: 'retention',
          action: 'retention.delete',
          resource_type: 'audit_chain',
          resource_id: 'z',
          outcome: 'allowed',
        },
      ],
    });
    const report = await verifyStore(db);
    const z = report.broken.find((b) => b.chain === 'z');
    expect(z).toMatchObject({ position: 8, reason: 'anchor_unrecorded' });
    expect(z?.message).toContain(`r/${next}`);
    expect(report.broken.find((b) => b.chain === 'r')).toMatchObject({ position: next });
    // SQL alone sees a record (its chain's break is SQL_CHECK's finding).
    expect(await runAnchorRecordSqlCheck(db)).toEqual([]);
  });

  it('finds a chain cut back to its retention anchor or below', async () => {
    // x kept only its head (31) after its anchor (30); deleting it leaves the anchor alone.
    expect(await verifyStore(db, { chains: ['x'] })).toMatchObject({ ok: true });
    await db.client.command({
      query: "ALTER TABLE audit_events DELETE WHERE chain = 'x'",
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect((await verifyStore(db, { chains: ['x'] })).first_broken).toMatchObject({
      chain: 'x',
      position: 31,
      reason: 'truncated',
    });
    // w: a recorded anchor through 3 whose run stopped before deleting; then 4 and 5 are cut.
    await (await writer('w')).append(Array.from({ length: 5 }, (_, i) => ({ record: sampleRecord(i) })));
    const hash3 = await hashAt('w', 3);
    const record = changeRecord({
      at: T0 + 86_400_000 * 200,
      principal: 'retention',
      action: 'retention.delete',
      resource_type: 'audit_chain',
      resource_id: 'w',
      details: { through_position: 3, through_hash: hash3, rows: 3 },
    });
    await (await writer('r2')).append([{ record }]);
    await insertAnchor(db, { chain: 'w', position: 3, hash: hash3, cutoff_ms: T0, deleted_rows: 3 });
    expect(await verifyStore(db, { chains: ['w', 'r2'] })).toMatchObject({ ok: true });
    await db.client.command({
      query: "ALTER TABLE audit_events DELETE WHERE chain = 'w' AND position > 3",
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect(await verifyStore(db, { chains: ['w', 'r2'] })).toMatchObject({
      ok: false,
      broken: [{ chain: 'w', position: 4, reason: 'truncated' }],
    });
  });
});
