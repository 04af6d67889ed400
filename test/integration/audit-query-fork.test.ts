import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChainWriter,
  auditMigrations,
  engineCsvExport,
  parseAuditQuery,
  parseAuditRecord,
  queryAuditEvents,
  type AuditQuery,
} from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';

/**
 * A json/jsonl export over a chain holding a second, different row at one position (a fork or a
 * forgery, `conflicting_rows` in verification): every row matching the filter comes once, in
 * time order, whatever the page size. Before, the page read back every row of its positions
 * unfiltered, and a later conflicting row became the keyset's bound: 15 of 20 rows were lost.
 */

let db: Database;
let dataDir: string;
const T0 = Date.UTC(2026, 0, 1);

function record(i: number, principal = 'alice') {
  return parseAuditRecord({
    kind: 'change',
    at: T0 + i * 1000,
    principal,
    action: 'policy.change',
    resource_type: 'model',
    resource_id: 'm',
    model_id: 'm',
    outcome: 'allowed',
    details: { i },
  });
}

/** Inserts a copy of `position`'s row with `changes` (SQL expressions by column) applied. */
async function insertCopy(position: number, changes: Record<string, string>): Promise<void> {
  const columns = ['chain', 'position', 'prev_hash', 'hash', 'record', 'kind', 'at', 'principal']
    .concat(['action', 'resource_type', 'resource_id', 'model_id', 'entity_id', 'outcome', 'source_offset'])
    .map((c) => changes[c] ?? c);
  await db.client.command({
    query: `INSERT INTO audit_events (chain, position, prev_hash, hash, record, kind, at, principal, action,
              resource_type, resource_id, model_id, entity_id, outcome, source_offset)
            SELECT ${columns.join(', ')} FROM audit_events WHERE chain = 'a' AND position = {position:UInt64}`,
    query_params: { position },
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-audit-query-fork-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'audit_query_fork', dataDir });
  await migrate(db, auditMigrations);
  // A merge would keep one row of each position: the test needs the store as the forger left it.
  await db.client.command({ query: 'SYSTEM STOP MERGES audit_events' });
  const writer = await ChainWriter.open(db, 'a', { now: () => Date.UTC(2030, 0, 1) });
  await writer.append(Array.from({ length: 20 }, (_, i) => ({ record: record(i + 1) })));
  // Position 3 forked a day later by another principal; position 7 forked at its own time, same
  // principal (both rows match a principal filter); position 10 copied byte for byte (a retry).
  await insertCopy(3, {
    hash: `repeat('f', 64)`,
    record: `replaceOne(replaceOne(record, '"i":3', '"i":99'), '"alice"', '"mallory"')`,
    at: 'at + INTERVAL 1 DAY',
    principal: `'mallory'`,
  });
  await insertCopy(7, { hash: `repeat('e', 64)`, record: `replaceOne(record, '"i":7', '"i":77')` });
  await insertCopy(10, {});
  // Position 12 copied with its record edited and its hash kept (hash_mismatch on that row).
  await insertCopy(12, { record: `replaceOne(record, '"i":12', '"i":120')` });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `position:principal:details.i` of each exported row, in order. */
async function exported(query: AuditQuery, page: number): Promise<string[]> {
  const out: string[] = [];
  for await (const rows of queryAuditEvents(db, query, page))
    for (const r of rows)
      out.push(`${r.position}:${String(r.record['principal'])}:${JSON.stringify(r.record['details'])}`);
  return out;
}

const alice = (positions: number[]) => positions.map((p) => `${p}:alice:{"i":${p}}`);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** The fork at 7 has its original's time: it comes right before or after it (by hash). */
const fork7 = '7:alice:{"i":77}';
/** The same for the edited copy at 12 (same hash: by record). */
const fork12 = '12:alice:{"i":120}';
const forks = [fork7, fork12];
const pages = [1, 2, 3, 5, 7, 21, 10_000];

describe('json/jsonl export of a chain with conflicting rows', () => {
  it('exports each row matching a filter once, the conflicting ones where their time puts them', async () => {
    for (const page of pages) {
      const rows = await exported(parseAuditQuery({ principal: 'alice' }), page);
      expect(
        rows.filter((r) => !forks.includes(r)),
        `page ${page}`,
      ).toEqual(alice(range(1, 20)));
      for (const fork of forks)
        expect(
          rows.filter((r) => r === fork),
          `page ${page}`,
        ).toHaveLength(1);
      expect(Math.abs(rows.indexOf(fork7) - rows.indexOf('7:alice:{"i":7}')), `page ${page}`).toBe(1);
      expect(Math.abs(rows.indexOf(fork12) - rows.indexOf('12:alice:{"i":12}')), `page ${page}`).toBe(1);
    }
  });

  it('exports a conflicting row that fails the filter only where it matches', async () => {
    for (const page of pages) {
      const all = await exported({}, page);
      expect(all, `page ${page}`).toHaveLength(23);
      expect(all.at(-1), `page ${page}`).toBe('3:mallory:{"i":99}');
      expect(
        all.map((r) => Number(r.split(':')[0])),
        `page ${page}`,
      ).toEqual([...range(1, 7), ...range(7, 12), ...range(12, 20), 3]);
      expect(await exported(parseAuditQuery({ principal: 'mallory' }), page), `page ${page}`).toEqual([
        '3:mallory:{"i":99}',
      ]);
    }
  });
});

describe('csv export of a chain with conflicting rows', () => {
  // Regression: rows at one position with one hash were listed once, so of the record edited at 12
  // (hash kept) only one row, either one, was in the CSV while json listed both.
  it('lists the same rows as json: both rows of a fork, a retried copy once', async () => {
    for (const page of pages) {
      const parts: Buffer[] = [];
      for await (const chunk of engineCsvExport(db, {}, page)) parts.push(chunk);
      const lines = Buffer.concat(parts).toString().trim().split('\r\n').slice(1);
      expect(
        lines.map((line) => Number(line.split(',')[1])),
        `page ${page}`,
      ).toEqual([...range(1, 7), ...range(7, 12), ...range(12, 20), 3]);
    }
  });
});
