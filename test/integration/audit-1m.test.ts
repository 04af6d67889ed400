import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  auditExportStream,
  auditMigrations,
  linkRecords,
  queryAuditEvents,
  runSqlCheck,
  verifyStore,
  type AuditRecord,
  type ChainHead,
} from '../../src/audit/index.js';
import { rowLine } from '../../src/audit/store.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { useMigratedEngine } from '../support/engine.js';

/**
 * One chain of 1,000,000 records: write, verify, SQL check, CSV export with RSS sampled. About a
 * minute on 2 cores (3 under load), so only with MODELWATCH_AUDIT_1M=1, which `npm run test:long`
 * sets (vitest.long.config.ts); alone:
 *   MODELWATCH_AUDIT_1M=1 npx vitest run test/integration/audit-1m.test.ts
 */
const RUN = process.env['MODELWATCH_AUDIT_1M'] === '1';
const N = 1_000_000;
const BATCH = 100_000;

let db: Database;

function record(i: number): AuditRecord {
  return {
    kind: 'access',
    at: new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(),
    principal: `svc-${i % 50}`,
    action: 'read',
    resource_type: 'prediction',
    resource_id: `p-${i}`,
    model_id: `model-${i % 5}`,
    entity_id: `customer-${i % 10_000}`,
    outcome: i % 97 === 0 ? 'denied' : 'allowed',
    details: { event_id: `e-${i}`, purpose: 'monitoring' },
  };
}

const seconds = (start: number) => Math.round((performance.now() - start) / 10) / 100;

describe.skipIf(!RUN)('audit chain of 1M records', () => {
  useMigratedEngine('audit_1m', auditMigrations, (opened) => (db = opened));

  it('writes, verifies, checks in SQL and exports 1M records', { timeout: 600_000 }, async () => {
    const initialRss = process.memoryUsage().rss;
    let start = performance.now();
    let head: ChainHead = { chain: 'big', position: 0, hash: GENESIS_HASH };
    for (let i = 0; i < N; i += BATCH) {
      const linked = linkRecords(
        head,
        Array.from({ length: BATCH }, (_, k) => record(i + k)),
      );
      head = linked.head;
      await db.insertJsonEachRow(
        'audit_events',
        Buffer.from(linked.links.map((l) => rowLine(l, l.parsed)).join('\n'), 'utf8'),
      );
    }
    const write = seconds(start);
    const afterWrite = process.memoryUsage().rss;

    start = performance.now();
    const report = await verifyStore(db, { chains: ['big'] });
    const verify = seconds(start);
    const afterVerify = process.memoryUsage().rss;
    expect(report).toEqual({ ok: true, checked: N, chains: 1, broken: [] });

    start = performance.now();
    expect(await runSqlCheck(db)).toEqual([]);
    const sqlCheck = seconds(start);

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    let lines = 0;
    start = performance.now();
    await pipeline(
      auditExportStream(queryAuditEvents(db, {}), 'csv'),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
          done();
        },
      }),
    );
    clearInterval(sampler);
    const csv = seconds(start);
    expect(lines).toBe(N + 1);
    // The engine runs in this process and keeps what the write and verification allocated, so the
    // export's rise is measured against the RSS it started from, with the absolute figures beside it.
    const mb = (bytes: number) => Math.round(bytes / 1e6);
    console.log(
      `audit 1M: write ${write} s, verify ${verify} s, SQL check ${sqlCheck} s, CSV export ${csv} s ` +
        `(RSS at start ${mb(initialRss)} MB, after write ${mb(afterWrite)} MB, after verify ${mb(afterVerify)} MB, ` +
        `after SQL check ${mb(baseline)} MB, peak during export ${mb(peak)} MB: +${mb(peak - baseline)} MB)`,
    );
  });
});
