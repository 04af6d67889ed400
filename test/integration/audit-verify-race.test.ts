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
  verifyStore,
  type AuditRecorder,
} from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { sampleRecord } from '../unit/audit/rows.js';

/**
 * A verification that a retention run overlaps: the run anchors a chain and deletes its prefix
 * after the verification read the anchors and before it streams the chain (forced through the
 * `sourceEnds` callback, which `verifyStore` awaits in between). Before, the old anchor was used
 * and the trimmed chain was reported as a `gap` at position 1.
 */

let db: Database;
let dataDir: string;
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const NOW = T0 + 300 * DAY;
const writers = new Map<string, ChainWriter>();

async function writer(chain: string): Promise<ChainWriter> {
  const existing = writers.get(chain) ?? (await ChainWriter.open(db, chain, { now: () => T0 + 365 * DAY }));
  writers.set(chain, existing);
  return existing;
}

/** 30 records past the retention cutoff, then 3 recent ones that retention keeps. */
async function writeChain(chain: string): Promise<void> {
  await (await writer(chain)).append(Array.from({ length: 30 }, (_, i) => ({ record: sampleRecord(i) })));
  const recent = [97, 98, 99].map((i) => ({ record: { ...sampleRecord(i), at: NOW } }));
  await (await writer(chain)).append(recent);
}

/** Chains the retention record into chain `r`, as the audit consumer would from Kafka. */
const chainingRecorder: AuditRecorder = {
  async change(change) {
    const record = changeRecord({ ...change, at: change.at ?? NOW });
    await (await writer('r')).append([{ record }]);
  },
};

/** A retention run with a 30-day audit retention, at NOW. */
async function runRetention(): Promise<void> {
  const job = new RetentionJob({
    db,
    recorder: chainingRecorder,
    holds: new LegalHolds(db),
    logger: createLogger('silent', 'verify-race-test'),
    policy: { predictionsMs: undefined, labelsMs: undefined, auditMs: 30 * DAY },
    recordWaitMs: 10_000,
  });
  await job.run(NOW);
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-verify-race-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'verify_race', dataDir });
  await migrate(db, auditMigrations);
  await (await writer('r')).append([{ record: { ...sampleRecord(1), at: NOW } }]);
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a verification overlapping a retention trim', () => {
  it('verifies the trimmed chain from its new anchor', async () => {
    await writeChain('a');
    const report = await verifyStore(db, {
      sourceEnds: async () => {
        await runRetention();
        return new Map();
      },
    });
    expect((await readAnchors(db)).get('a')?.position).toBe(30);
    expect(report).toMatchObject({ ok: true, broken: [] });
    // Chain a from its anchor (31..33) and chain r as it stood when the run started.
    expect(report.checked).toBe(3 + 1);
  });

  it('still reports a break after the new anchor', async () => {
    await writeChain('b');
    const report = await verifyStore(db, {
      chains: ['b'],
      sourceEnds: async () => {
        await runRetention();
        await db.client.command({
          query: `ALTER TABLE audit_events DELETE WHERE chain = 'b' AND position = 32`,
          clickhouse_settings: { mutations_sync: '2' },
        });
        return new Map();
      },
    });
    expect((await readAnchors(db)).get('b')?.position).toBe(30);
    expect(report.first_broken).toMatchObject({ chain: 'b', position: 32, reason: 'gap' });
  });
});
