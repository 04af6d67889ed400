import { describe, expect, it, vi } from 'vitest';
import {
  AuditError,
  ChainWriter,
  GENESIS_HASH,
  auditMigrations,
  chainHash,
  columnsMatch,
  isAuditError,
  parseDigest,
  readHeads,
  runSqlCheck,
  streamChain,
  streamLinks,
  takeDigest,
  verifyStore,
  type DigestEntry,
  type StoredRow,
} from '../../src/audit/index.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import { sampleRecord } from '../unit/audit/rows.js';
import { useMigratedEngine } from '../support/engine.js';

/**
 * The audit chain against the real embedded ClickHouse: written by the chain writer, tampered
 * with in SQL as someone with write access to the table would, and verified. Each test owns a
 * chain (verification and the SQL check are scoped to it).
 */

let db: Database;
let chainCount = 0;

useMigratedEngine('audit_chain', auditMigrations, (opened) => (db = opened));

const T = '2026-01-02T00:00:00.000Z';
const sql = (query: string, params: Record<string, unknown> = {}) =>
  db.client.command({ query, query_params: params });
const mutate = (query: string, params: Record<string, unknown>) =>
  sql(`${query} SETTINGS mutations_sync = 2`, params);

/** A fresh chain of `n` sample records, written in batches of 10 by the chain writer. */
async function writeChain(n: number): Promise<{ chain: string; writer: ChainWriter }> {
  chainCount += 1;
  const chain = `test/${chainCount}`;
  const writer = await ChainWriter.open(db, chain, { now: () => Date.UTC(2030, 0, 1) });
  for (let i = 0; i < n; i += 10) {
    const entries = Array.from({ length: Math.min(10, n - i) }, (_, k) => ({ record: sampleRecord(i + k) }));
    await writer.append(entries);
  }
  return { chain, writer };
}

async function verifyChain(chain: string, digest?: DigestEntry[]) {
  return verifyStore(db, { chains: [chain], ...(digest ? { digest } : {}), pagePositions: 16 });
}

async function sqlFinding(chain: string) {
  return (await runSqlCheck(db)).find((f) => f.chain === chain);
}

async function rows(chain: string): Promise<StoredRow[]> {
  const out: StoredRow[] = [];
  for await (const row of streamChain(db, chain, { pagePositions: 16 })) out.push(row);
  return out;
}

describe('audit chain in ClickHouse', () => {
  it('an untouched chain verifies, and the SQL-only recomputation agrees with every stored hash', async () => {
    const { chain, writer } = await writeChain(100);
    expect(await verifyChain(chain)).toEqual({ ok: true, checked: 100, chains: 1, broken: [] });
    expect(await sqlFinding(chain)).toBeUndefined();
    const result = await db.client.query({
      query: `SELECT count() AS n, countIf(lower(hex(SHA256(concat(prev_hash, record)))) = hash) AS matching,
                     countIf(position = 1 AND prev_hash = repeat('0', 64)) AS genesis
              FROM audit_events WHERE chain = {chain:String}`,
      query_params: { chain },
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: 100, matching: 100, genesis: 1 }]);
    const stored = await rows(chain);
    expect(stored.map((r) => r.position)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(stored.at(-1)?.hash).toBe(writer.head.hash);
    expect((await readHeads(db)).find((h) => h.chain === chain)).toMatchObject({
      position: 100,
      hash: writer.head.hash,
    });
  });

  it('records with quotes, backslashes, control and non-BMP characters survive the round trip', async () => {
    const { chain, writer } = await writeChain(0);
    const tricky = [
      'say "hi"',
      'C:\\path\\to',
      'line\nbreak\ttab\r',
      'emoji 😀 and \u0000 nul',
      "it's; DROP TABLE x --",
    ];
    await writer.append(
      tricky.map((note, i) => ({ record: { ...sampleRecord(2), principal: note, details: { note, i } } })),
    );
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: tricky.length });
    const links = [];
    for await (const link of streamLinks(db, chain)) links.push(link);
    const stored = await rows(chain);
    expect(links.map((l) => l.record)).toEqual(stored.map((r) => r.record));
    expect(links.map((l) => l.columns_match)).toEqual(stored.map((r) => columnsMatch(r)));
    expect(stored.map((r) => r.principal)).toEqual(tricky);
  });

  it('a new writer resumes from the stored head; a redelivered source offset is chained once', async () => {
    const { chain } = await writeChain(0);
    const first = await ChainWriter.open(db, chain);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ record: sampleRecord(from + i), sourceOffset: from + i }));
    await first.append(batch(0, 20));
    // The partition moves: the next owner re-reads the head, and the redelivered 15..19 are skipped.
    const second = await ChainWriter.open(db, chain);
    expect(second.head).toEqual(first.head);
    const result = await second.append(batch(15, 15));
    expect(result.skipped).toBe(5);
    expect(result.appended.map((a) => a.position)).toEqual(Array.from({ length: 10 }, (_, i) => 21 + i));
    // The old owner, still alive, is refused instead of forking the chain.
    await expect(first.append(batch(30, 1))).rejects.toMatchObject({ code: 'CHAIN_CONFLICT' });
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 30 });
    const offsets = await db.client.query({
      query:
        'SELECT groupArray(source_offset) AS o FROM (SELECT source_offset FROM audit_events WHERE chain = {chain:String} ORDER BY position)',
      query_params: { chain },
      format: 'JSONEachRow',
    });
    expect(await offsets.json()).toEqual([{ o: Array.from({ length: 30 }, (_, i) => i) }]);
  });

  it('concurrent appends on one writer are serialized: no position repeated or skipped', async () => {
    const { chain, writer } = await writeChain(0);
    await Promise.all(
      Array.from({ length: 8 }, (_, k) =>
        writer.append(Array.from({ length: 5 }, (_, i) => ({ record: sampleRecord(k * 5 + i) }))),
      ),
    );
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 40 });
  });

  it('refuses a bad record naming it, and writes nothing of its batch', async () => {
    const { chain, writer } = await writeChain(3);
    const bad = { ...sampleRecord(5), details: { x: Number.NaN } };
    const error = await writer
      .append([{ record: sampleRecord(4) }, { record: bad }])
      .catch((err: unknown) => err);
    expect(isAuditError(error, 'INVALID_RECORD')).toBe(true);
    expect((error as AuditError).field).toBe('entries[1].record.details.x');
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 3 });
    for (const sourceOffset of [-5, 1.5, Number.NaN, 2 ** 60]) {
      await expect(writer.append([{ record: sampleRecord(4), sourceOffset }])).rejects.toMatchObject({
        code: 'INVALID_RECORD',
        field: 'entries[0].sourceOffset',
      });
    }
    expect((await writer.append([{ record: sampleRecord(5) }])).head.position).toBe(4);
  });

  it('detects one changed byte of one record at its position (verifier and SQL)', async () => {
    const { chain } = await writeChain(50);
    await mutate(
      `ALTER TABLE audit_events UPDATE record = replaceOne(record, '"at":"2026', '"at":"2025') WHERE chain = {chain:String} AND position = 17`,
      {
        chain,
      },
    );
    expect((await verifyChain(chain)).first_broken).toMatchObject({
      chain,
      position: 17,
      reason: 'hash_mismatch',
    });
    expect(await sqlFinding(chain)).toEqual({ chain, position: 17, reason: 'hash_mismatch' });
  });

  it('detects a deleted record as a gap at its position', async () => {
    const { chain } = await writeChain(50);
    await mutate('ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position = 23', { chain });
    expect((await verifyChain(chain)).first_broken).toMatchObject({ position: 23, reason: 'gap' });
    expect(await sqlFinding(chain)).toEqual({ chain, position: 23, reason: 'gap' });
  });

  it('detects an inserted record, before and after ClickHouse merges it away', async () => {
    const { chain } = await writeChain(50);
    // A forged row at position 30 with a correct link hash and consistent columns.
    await sql(
      `INSERT INTO audit_events (chain, position, prev_hash, hash, record, kind, at, principal, action, resource_type, resource_id, model_id, entity_id, outcome)
       SELECT chain, position, prev_hash, lower(hex(SHA256(concat(prev_hash, forged)))), forged, kind, at, concat('forged-', principal), action,
              resource_type, resource_id, model_id, entity_id, outcome
       FROM (SELECT *, replaceOne(record, '"principal":"', '"principal":"forged-') AS forged FROM audit_events
             WHERE chain = {chain:String} AND position = 30)`,
      { chain },
    );
    expect((await verifyChain(chain)).first_broken).toMatchObject({
      position: 30,
      reason: 'conflicting_rows',
    });
    expect(await sqlFinding(chain)).toEqual({ chain, position: 30, reason: 'conflicting_rows' });
    // The merge keeps the later row: the forgery now links from 29, so 31 no longer follows it.
    await sql('OPTIMIZE TABLE audit_events FINAL');
    expect((await rows(chain)).filter((r) => r.position === 30).map((r) => r.principal)).toEqual([
      expect.stringMatching(/^forged-/) as string,
    ]);
    expect((await verifyChain(chain)).first_broken).toMatchObject({
      position: 31,
      reason: 'prev_hash_mismatch',
    });
    expect(await sqlFinding(chain)).toEqual({ chain, position: 31, reason: 'prev_hash_mismatch' });
  });

  it('an identical retried copy of a row is not tampering', async () => {
    const { chain } = await writeChain(20);
    await sql(
      'INSERT INTO audit_events SELECT * FROM audit_events WHERE chain = {chain:String} AND position = 7',
      { chain },
    );
    expect((await rows(chain)).filter((r) => r.position === 7)).toHaveLength(2);
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 20 });
    expect(await sqlFinding(chain)).toBeUndefined();
  });

  it('detects two swapped records', async () => {
    const { chain } = await writeChain(50);
    const tmp = `swap_${chainCount}`;
    await sql(
      `CREATE TABLE ${tmp} ENGINE = Memory AS SELECT * FROM audit_events WHERE chain = {chain:String} AND position IN (12, 13)`,
      { chain },
    );
    await mutate('ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position IN (12, 13)', {
      chain,
    });
    await sql(`INSERT INTO audit_events SELECT * REPLACE (25 - position AS position) FROM ${tmp}`);
    await sql(`DROP TABLE ${tmp}`);
    expect((await verifyChain(chain)).first_broken).toMatchObject({
      position: 12,
      reason: 'prev_hash_mismatch',
    });
    expect(await sqlFinding(chain)).toEqual({ chain, position: 12, reason: 'prev_hash_mismatch' });
  });

  it('detects a truncated tail against a held digest only', async () => {
    const { chain } = await writeChain(50);
    const digest = (await takeDigest(db, () => new Date(T))).filter((e) => e.chain === chain);
    expect(digest).toEqual([
      { chain, position: 50, hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string, at: T },
    ]);
    await mutate('ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position > 40', { chain });
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 40 });
    expect((await verifyChain(chain, digest)).first_broken).toMatchObject({
      position: 41,
      reason: 'truncated',
    });
  });

  it('detects a chain recomputed after an edit against held digests, at the first digest it contradicts', async () => {
    const { chain, writer } = await writeChain(25);
    const early = { ...writer.head, at: T };
    await writer.append(Array.from({ length: 25 }, (_, i) => ({ record: sampleRecord(25 + i) })));
    const late = { ...writer.head, at: T };
    // The attacker edits record 10 and recomputes every later hash, then rewrites the chain.
    const stored = await rows(chain);
    let prev = stored[8]?.hash ?? GENESIS_HASH;
    const lines = stored.slice(9).map((row) => {
      const record = row.position === 10 ? row.record.replace('"principal":"', '"principal":"X') : row.record;
      const hash = chainHash(prev, record);
      const line = {
        ...row,
        record,
        prev_hash: prev,
        hash,
        principal: row.position === 10 ? `X${row.principal}` : row.principal,
        at: row.at_ms,
      };
      prev = hash;
      return JSON.stringify(line);
    });
    await mutate('ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position >= 10', {
      chain,
    });
    await db.insertJsonEachRow('audit_events', Buffer.from(lines.join('\n'), 'utf8'), {
      settings: { input_format_skip_unknown_fields: 1 },
    });
    expect(await verifyChain(chain)).toMatchObject({ ok: true, checked: 50 });
    expect(await sqlFinding(chain)).toBeUndefined();
    expect((await verifyChain(chain, [late])).first_broken).toMatchObject({
      position: 50,
      reason: 'digest_mismatch',
    });
    expect((await verifyChain(chain, [late, early])).first_broken).toMatchObject({
      position: 25,
      reason: 'digest_mismatch',
    });
  });

  it('detects a row forged at a far position in a few queries', async () => {
    /** A chain of 20 with a copy of its row 5 forged at `position`: the report and the statements verification sent. */
    async function forgedAt(position: number) {
      const { chain } = await writeChain(20);
      await sql(
        // The subquery keeps WHERE off the replaced alias (ClickHouse resolves aliases there too).
        `INSERT INTO audit_events SELECT * REPLACE (${position} AS position) FROM (SELECT * FROM audit_events WHERE chain = {chain:String} AND position = 5)`,
        { chain },
      );
      const spies = (['query', 'command', 'exec'] as const).map((method) => vi.spyOn(db.client, method));
      try {
        const report = await verifyChain(chain);
        return { chain, report, statements: spies.reduce((n, spy) => n + spy.mock.calls.length, 0) };
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    }
    // Both past the page after position 20 (pages of 16): each is reached by one jump, so both
    // cost the same. A reader that walked the empty pages would need ~6e10 queries for the far one.
    const near = await forgedAt(100);
    const far = await forgedAt(1e12);
    for (const { chain, report } of [near, far]) {
      expect(report.first_broken).toMatchObject({ position: 21, reason: 'gap' });
      expect(await sqlFinding(chain)).toEqual({ chain, position: 21, reason: 'gap' });
    }
    console.log(
      `statements sent by verification: ${near.statements} (forged at 100), ${far.statements} (at 1e12)`,
    );
    expect(far.statements).toBe(near.statements);
    expect(far.statements).toBeGreaterThan(0);
    expect(far.statements).toBeLessThanOrEqual(12);
  });

  it('a row forged at a position beyond 2^53 ends verification at once, at the right position', async () => {
    for (const forged of ['18446744073709551615', '9007199254740993']) {
      const { chain, writer } = await writeChain(20);
      await sql(
        `INSERT INTO audit_events SELECT * REPLACE (${forged} AS position) FROM (SELECT * FROM audit_events WHERE chain = {chain:String} AND position = 5)`,
        { chain },
      );
      const report = await verifyChain(chain);
      expect(report).toMatchObject({ ok: false, checked: 20 });
      expect(report.first_broken).toMatchObject({ position: 21, reason: 'unexpected_position' });
      expect(report.first_broken?.message).toContain(forged);
      expect(await sqlFinding(chain)).toEqual({ chain, position: 21, reason: 'gap' });
      // A writer cannot continue after it either (position + 1 would be a rounded float).
      await expect(ChainWriter.open(db, chain)).rejects.toMatchObject({ code: 'CHAIN_CORRUPT' });
      // Regression: the digest carried the forged position, which its reader refuses, so a digest
      // held from the topic failed verification of every chain. Its head is the last real row.
      const digest = await takeDigest(db, () => new Date(T));
      expect(digest.find((e) => e.chain === chain)).toEqual({ ...writer.head, at: T });
      expect(parseDigest(digest.map((e) => JSON.stringify(e)).join('\n'))).toEqual(digest);
    }
  }, 30_000);

  it('an edited source_offset: the writer holds the chain instead of skipping, verification names it', async () => {
    const { chain } = await writeChain(0);
    const writer = await ChainWriter.open(db, chain);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ record: sampleRecord(from + i), sourceOffset: from + i }));
    await writer.append(batch(0, 20));
    const setOffset = (position: number, offset: string) =>
      mutate(
        `ALTER TABLE audit_events UPDATE source_offset = ${offset} WHERE chain = {chain:String} AND position = {position:UInt64}`,
        { chain, position },
      );
    await setOffset(20, '9000000000000000000');
    // Everything after would be skipped as "already chained": refused, retryable, nothing written.
    const error = await writer.append(batch(20, 5), { sourceEnd: 25 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'CHAIN_CORRUPT', retryable: true });
    expect(writer.head.position).toBe(20);
    const ends = () => Promise.resolve(new Map([[chain, 25]]));
    expect(await verifyChain(chain)).toMatchObject({ ok: true });
    expect(
      (await verifyStore(db, { chains: [chain], sourceEnds: ends, pagePositions: 16 })).first_broken,
    ).toMatchObject({ chain, position: 20, reason: 'offset_beyond_end' });
    // Repaired, the same batch is chained.
    await setOffset(20, '19');
    const result = await writer.append(batch(20, 5), { sourceEnd: 25 });
    expect(result).toMatchObject({ skipped: 0, head: { position: 25 } });
    expect(await verifyStore(db, { chains: [chain], sourceEnds: ends })).toMatchObject({ ok: true });
    // An edit below the head: offsets no longer rise along the chain.
    await setOffset(10, '9000000000000000000');
    expect((await verifyChain(chain)).first_broken).toMatchObject({
      position: 11,
      reason: 'offset_not_rising',
    });
  });

  it('a copy of the head differing only in source_offset is conflicting_rows, and the writer refuses it', async () => {
    const { chain } = await writeChain(0);
    const writer = await ChainWriter.open(db, chain);
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ record: sampleRecord(from + i), sourceOffset: from + i }));
    await writer.append(batch(0, 20));
    // Both rows must stay until verified (a merge keeps one of them).
    await sql('SYSTEM STOP MERGES audit_events');
    try {
      // The offset is not hashed and stays below the partition's end (25): no offset_beyond_end.
      // Regression: taken for a retried write, the copy verified "ok", and a writer that read it
      // as the head skipped offsets 20..23 as already chained.
      await sql(
        `INSERT INTO audit_events SELECT * REPLACE (toInt64(23) AS source_offset) FROM audit_events
         WHERE chain = {chain:String} AND position = 20`,
        { chain },
      );
      const ends = () => Promise.resolve(new Map([[chain, 25]]));
      expect(
        (await verifyStore(db, { chains: [chain], sourceEnds: ends, pagePositions: 16 })).first_broken,
      ).toMatchObject({ chain, position: 20, reason: 'conflicting_rows' });
      await expect(ChainWriter.open(db, chain)).rejects.toMatchObject({ code: 'CHAIN_CONFLICT' });
      await expect(writer.append(batch(20, 5), { sourceEnd: 25 })).rejects.toMatchObject({
        code: 'CHAIN_CONFLICT',
      });
    } finally {
      await sql('SYSTEM START MERGES audit_events');
    }
  });

  it('detects a query column edited without its record', async () => {
    const { chain } = await writeChain(20);
    await mutate(
      `ALTER TABLE audit_events UPDATE principal = 'nobody' WHERE chain = {chain:String} AND position = 5`,
      { chain },
    );
    expect((await verifyChain(chain)).first_broken).toMatchObject({ position: 5, reason: 'column_mismatch' });
  });

  it('names a chain a digest holds but the store lost entirely', async () => {
    const digest = [{ chain: 'test/vanished', position: 3, hash: 'c'.repeat(64), at: T }];
    expect(await verifyStore(db, { chains: ['test/vanished'], digest })).toMatchObject({
      ok: false,
      first_broken: { chain: 'test/vanished', position: 1, reason: 'truncated' },
    });
  });
});
