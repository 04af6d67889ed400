import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditError,
  ChainWriter,
  auditExportStream,
  auditRoutes,
  auditMigrations,
  parseAuditQuery,
  queryAuditEvents,
  type AuditEventRow,
  type AuditQuery,
  type AuditRecord,
} from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import { KEYS, message, stubApp } from '../unit/api/stub-app.js';
import { sampleRecord } from '../unit/audit/rows.js';

/** Compliance queries over two interleaved chains in the embedded engine, against a filter in JavaScript. */

let db: Database;
let dataDir: string;
const written: { chain: string; position: number; record: AuditRecord }[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-audit-query-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'audit_query', dataDir });
  await migrate(db, auditMigrations);
  for (const [chain, count] of [
    ['a', 200],
    ['b', 150],
  ] as const) {
    const writer = await ChainWriter.open(db, chain, { now: () => Date.UTC(2030, 0, 1) });
    // Chain b's records share times with chain a's, so the keyset's tie-break on (chain, position) matters.
    const records = Array.from({ length: count }, (_, i) => sampleRecord(chain === 'a' ? i : i * 2));
    for (let i = 0; i < count; i += 50) {
      const result = await writer.append(records.slice(i, i + 50).map((record) => ({ record })));
      result.appended.forEach((a, k) =>
        written.push({ chain, position: a.position, record: records[i + k] as AuditRecord }),
      );
    }
  }
  // A retried write left an identical copy: a compliance export lists the row once.
  await db.client.command({
    query: `INSERT INTO audit_events SELECT * FROM audit_events WHERE chain = 'a' AND position = 10`,
  });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function collect(query: AuditQuery, page = 7): Promise<AuditEventRow[]> {
  const out: AuditEventRow[] = [];
  for await (const rows of queryAuditEvents(db, query, page)) out.push(...rows);
  return out;
}

function expected(keep: (r: AuditRecord) => boolean): string[] {
  return written
    .filter((w) => keep(w.record))
    .sort(
      (x, y) =>
        Date.parse(x.record.at) - Date.parse(y.record.at) ||
        x.chain.localeCompare(y.chain) ||
        x.position - y.position,
    )
    .map((w) => `${w.chain}/${w.position}`);
}

const keys = (rows: AuditEventRow[]) => rows.map((r) => `${r.chain}/${r.position}`);

describe('compliance queries', () => {
  it('pages through every row once, in time order, across chains', async () => {
    const rows = await collect({});
    expect(rows).toHaveLength(350);
    expect(keys(rows)).toEqual(expected(() => true));
    expect(rows[0]?.record).toEqual(JSON.parse(JSON.stringify(written[0]?.record)));
  });

  it('filters by principal, entity, model, action and time range', async () => {
    const from = Date.UTC(2026, 0, 1) + 40_000;
    const to = Date.UTC(2026, 0, 1) + 160_000;
    const cases: [unknown, (r: AuditRecord) => boolean][] = [
      [{ principal: 'svc-3' }, (r) => r.principal === 'svc-3'],
      [{ entity_id: 'customer-4' }, (r) => r.entity_id === 'customer-4'],
      [
        { model: 'credit-risk', action: 'policy.change' },
        (r) => r.model_id === 'credit-risk' && r.action === 'policy.change',
      ],
      [{ from: new Date(from).toISOString(), to }, (r) => Date.parse(r.at) >= from && Date.parse(r.at) < to],
      [{ principal: 'admin', from }, (r) => r.principal === 'admin' && Date.parse(r.at) >= from],
    ];
    for (const [input, keep] of cases) {
      const want = expected(keep);
      expect(want.length, JSON.stringify(input)).toBeGreaterThan(0);
      expect(keys(await collect(parseAuditQuery(input), 5)), JSON.stringify(input)).toEqual(want);
    }
  });

  it('treats SQL-looking filter values as data', async () => {
    expect(await collect(parseAuditQuery({ principal: "svc-3' OR '1'='1" }))).toEqual([]);
    expect(await collect(parseAuditQuery({ action: 'x; DROP TABLE audit_events' }))).toEqual([]);
    expect(await collect({})).toHaveLength(350);
  });

  it('streams a CSV export page by page', async () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    await pipeline(
      auditExportStream(queryAuditEvents(db, parseAuditQuery({ model: 'credit-risk' }), 11), 'csv'),
      sink,
    );
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0]?.startsWith('chain,position,at,kind,principal')).toBe(true);
    expect(lines).toHaveLength(1 + expected((r) => r.model_id === 'credit-risk').length);
  });

  it('refuses bad filters naming the field', () => {
    const fieldOf = (input: unknown) => {
      try {
        parseAuditQuery(input);
      } catch (err) {
        expect(err).toBeInstanceOf(AuditError);
        expect((err as AuditError).code).toBe('INVALID_QUERY');
        return (err as AuditError).field;
      }
      return undefined;
    };
    expect(fieldOf({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' })).toBe('from');
    expect(fieldOf({ principal: 'x'.repeat(10_000_000) })).toBe('principal');
    expect(fieldOf({ entity_id: '\ud800' })).toBe('entity_id');
    expect(fieldOf({ from: '9999-01-01T00:00:00Z' })).toBe('from');
    expect(fieldOf({ to: 'tomorrow' })).toBe('to');
    expect(fieldOf({ from: Number.NaN })).toBe('from');
    expect(fieldOf({ model: 42 })).toBe('model');
  });

  it('the route refuses an unknown format with a 400 naming the parameter', async () => {
    // `format` is the route's, not a filter: parseAuditQuery refused it as an unknown field, whatever its value.
    const { call } = await stubApp([auditRoutes({ db, digests: () => [] })]);
    const get = (query: string) =>
      call({ method: 'GET', url: `/api/v1/audit/events?${query}`, key: KEYS.auditor });
    const refused = await get('format=xml');
    expect([refused.statusCode, message(refused)]).toEqual([
      400,
      'querystring/format must be equal to one of the allowed values',
    ]);
    expect((await get('format=jsonl&principal=svc-3')).statusCode).toBe(200);
  });
});
