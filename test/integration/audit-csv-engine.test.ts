import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChainWriter,
  auditExportStream,
  auditMigrations,
  engineCsvExport,
  parseAuditQuery,
  parseAuditRecord,
  queryAuditEvents,
  type AuditQuery,
  type AuditRecord,
} from '../../src/audit/index.js';
import { migrate, openDatabase, type Database } from '../../src/platform/clickhouse/index.js';

/**
 * The CSV the engine writes (csv-export.ts) against the CSV written in JavaScript from the parsed
 * records (export-format.ts), byte for byte, on records built to break the engine's formatting:
 * formula starts, quotes, commas, line breaks, every space JavaScript trims, the text the engine
 * looks for to cut `details` out placed inside details, integers above 2^64, and keys that sort
 * differently as numbers.
 */

let db: Database;
let dataDir: string;
const T0 = Date.UTC(2026, 0, 1);

const TRICKY = [
  '=SUM(A1)',
  '+1',
  '-1',
  '@x',
  '\tlead',
  '\rlead',
  'trail\t',
  'a,b',
  'say "hi"',
  'line\nbreak',
  ' space ',
  '\u00a0nbsp',
  'nbsp\u00a0',
  '\u2028',
  'x\u3000',
  '\ufeffbom',
  'vt\u000b',
  '},"kind":"',
  '},"entity_id":"',
  ',"details":{',
  '"at":"2020',
  'é😀',
  '\\',
  "'quote",
  '',
];

const piece = fc.oneof(fc.constantFrom(...TRICKY), fc.string({ unit: 'grapheme', maxLength: 4 }));
const text = fc.array(piece, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('') || 'x');
const json: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    text,
    fc.constantFrom(1e21, 123456789012345680000, -0, 5e-324, 0.1, 1.5e-7, 2 ** 64, null, true),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(text, fc.constantFrom('9', '10', 'kind', 'entity_id', 'details')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;

const changeRecord = fc.record(
  {
    principal: text,
    resource_type: text,
    resource_id: fc.oneof(text, fc.constant('')),
    model_id: text,
    entity_id: text,
    details: fc.dictionary(text, json, { maxKeys: 5 }),
  },
  { requiredKeys: ['principal', 'resource_type', 'resource_id', 'details'] },
);

function records(): AuditRecord[] {
  const generated = fc.sample(changeRecord, { numRuns: 400, seed: 10 });
  return generated.map((r, i) =>
    parseAuditRecord({
      kind: 'change',
      action: 'policy.change',
      outcome: 'allowed',
      // Several rows per millisecond, so the pages' keyset breaks ties on (chain, position).
      at: T0 + Math.floor(i / 3),
      ...r,
    }),
  );
}

async function text$(chunks: AsyncIterable<Buffer | string>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of chunks) parts.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(parts).toString('utf8');
}

const viaJs = (query: AuditQuery) => text$(auditExportStream(queryAuditEvents(db, query, 7), 'csv'));
const viaEngine = (query: AuditQuery, page = 13) => text$(engineCsvExport(db, query, page));

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-audit-csv-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'audit_csv', dataDir });
  await migrate(db, auditMigrations);
  const all = records();
  for (const [chain, part] of [
    ['c/0', all.filter((_, i) => i % 2 === 0)],
    ['c/1', all.filter((_, i) => i % 2 === 1)],
  ] as const) {
    const writer = await ChainWriter.open(db, chain, { now: () => T0 });
    await writer.append(part.map((record) => ({ record })));
  }
  // A retried write's identical copy: each export lists the row once.
  await db.client.command({
    query: `INSERT INTO audit_events SELECT * FROM audit_events WHERE chain = 'c/0' AND position = 10`,
  });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the engine-written CSV export', () => {
  it('is byte for byte the CSV written in JavaScript, over every row', async () => {
    const js = await viaJs({});
    expect(js.split('\r\n').filter((l) => /^c\/[01],/.test(l)).length).toBeGreaterThan(300);
    expect(await viaEngine({})).toBe(js);
    // One page for everything, and one row a page (over a few milliseconds: 800 queries otherwise).
    expect(await viaEngine({}, 10_000)).toBe(js);
    const few = parseAuditQuery({ from: T0 + 5, to: T0 + 12 });
    expect(await viaEngine(few, 1)).toBe(await viaJs(few));
  }, 120_000);

  it('holds the cells that need care, quoted and guarded', async () => {
    const csv = await viaEngine({});
    expect(csv).toContain(`"'=SUM(A1)`);
    expect(csv).toContain('"say ""hi"""');
    expect(csv).toContain('"\u00a0nbsp');
    expect(csv).toContain('123456789012345680000');
    expect(csv.startsWith('chain,position,at,kind,principal')).toBe(true);
  });

  it('applies the filters as the JavaScript export does', async () => {
    const all = records();
    const model = all.find((r) => r.model_id !== undefined)?.model_id ?? 'x';
    const cases: AuditQuery[] = [
      parseAuditQuery({ model }),
      parseAuditQuery({ from: T0 + 20, to: T0 + 60 }),
      parseAuditQuery({ principal: 'nobody' }),
    ];
    for (const query of cases) {
      const js = await viaJs(query);
      expect(await viaEngine(query, 5), JSON.stringify(query)).toBe(js);
    }
    expect(await viaEngine(parseAuditQuery({ principal: 'nobody' }))).toBe(
      'chain,position,at,kind,principal,action,resource_type,resource_id,model_id,entity_id,outcome,details,prev_hash,hash\r\n',
    );
  });
});
