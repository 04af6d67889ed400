import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainWriter, auditMigrations, engineCsvExport, verifyStore } from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';

/**
 * A record whose details hold an integer of 2^64 or more (JCS writes it in plain digits below
 * 10^21), which the engine's JSON parser refuses: verification must not take it for an edited
 * column, and must still find one that was edited.
 */

let db: Database;
let dataDir: string;
const T0 = Date.UTC(2026, 0, 1);

const record = (i: number, details: Record<string, unknown>, entity = true) => ({
  kind: 'change',
  at: T0 + i,
  principal: 'retention',
  action: 'retention.delete',
  resource_type: 'predictions',
  resource_id: 'predictions',
  ...(entity ? { entity_id: `customer-${i}` } : {}),
  outcome: 'allowed',
  details,
});

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-audit-bignum-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'audit_bignum', dataDir });
  await migrate(db, auditMigrations);
  const writer = await ChainWriter.open(db, 'n', { now: () => T0 });
  await writer.append([
    { record: record(1, { rows: 1e20 }) },
    { record: record(2, { rows: 123456789012345680000, nested: { kind: 'x' } }, false) },
    { record: record(3, { rows: 5, note: '},"kind":"access' }) },
    { record: record(4, { rows: 18446744073709552000 }, false) },
  ]);
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('records with integers above 2^64', () => {
  it('verify, and are exported with their details as hashed', async () => {
    expect(await verifyStore(db)).toMatchObject({ ok: true, checked: 4 });
    const parts: Buffer[] = [];
    for await (const chunk of engineCsvExport(db, {})) parts.push(chunk);
    const csv = Buffer.concat(parts).toString('utf8');
    expect(csv).toContain('"{""rows"":100000000000000000000}"');
    expect(csv).toContain('"{""nested"":{""kind"":""x""},""rows"":123456789012345680000}"');
  });

  it('still show an edited query column', async () => {
    await db.client.command({
      query: `ALTER TABLE audit_events UPDATE principal = 'someone-else' WHERE chain = 'n' AND position = 2`,
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect((await verifyStore(db)).first_broken).toMatchObject({
      chain: 'n',
      position: 2,
      reason: 'column_mismatch',
    });
  });
});
