import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ChainVerifier,
  GENESIS_HASH,
  chainHash,
  checkDigestEntry,
  columnsMatch,
  positionRanges,
  type BrokenLink,
  type StoredRow,
} from '../../../src/audit/index.js';
import { chainRows } from './rows.js';

function verify(
  rows: readonly StoredRow[],
  options: { anchor?: { position: number; hash: string }; checkCanonical?: boolean } = {},
): { checked: number; broken: BrokenLink | undefined } {
  const verifier = new ChainVerifier('c0', options);
  for (const row of rows) if (!verifier.push({ ...row, columns_match: columnsMatch(row) })) break;
  return { checked: verifier.checked, broken: verifier.firstBroken };
}

/** Recomputes every hash from position `from` on, as an attacker with write access would. */
function rehash(rows: StoredRow[], from: number): StoredRow[] {
  let prev = from > 1 ? (rows[from - 2]?.hash ?? GENESIS_HASH) : GENESIS_HASH;
  return rows.map((row) => {
    if (row.position < from) return row;
    const hash = chainHash(prev, row.record);
    const next = { ...row, prev_hash: prev, hash };
    prev = hash;
    return next;
  });
}

const at = (rows: StoredRow[], position: number): StoredRow => {
  const row = rows[position - 1];
  if (!row) throw new Error(`no row ${position}`);
  return row;
};

describe('chain verification on rows', () => {
  it('verifies an untouched chain and counts every row', () => {
    expect(verify(chainRows(50))).toEqual({ checked: 50, broken: undefined });
  });

  it('detects one changed byte of a record at its position', () => {
    const rows = chainRows(20);
    const row = at(rows, 7);
    rows[6] = { ...row, record: row.record.replace('"principal":"', '"principal":"X') };
    expect(verify(rows).broken).toMatchObject({ position: 7, reason: 'hash_mismatch' });
  });

  it('detects a record edited with its own hash recomputed, at the next position', () => {
    const rows = chainRows(20);
    const row = at(rows, 7);
    const record = row.record.replace('"principal":"', '"principal":"X');
    rows[6] = { ...row, record, hash: chainHash(row.prev_hash, record), principal: `X${row.principal}` };
    expect(verify(rows).broken).toMatchObject({ position: 8, reason: 'prev_hash_mismatch' });
    // The same edit leaving the extracted column as it was is caught at the row itself.
    rows[6] = { ...row, record, hash: chainHash(row.prev_hash, record) };
    expect(verify(rows).broken).toMatchObject({ position: 7, reason: 'column_mismatch' });
  });

  it('detects a deleted record as a gap at the missing position', () => {
    const rows = chainRows(20).filter((r) => r.position !== 5);
    expect(verify(rows).broken).toMatchObject({ position: 5, reason: 'gap' });
    expect(verify(chainRows(5).slice(1)).broken).toMatchObject({ position: 1, reason: 'gap' });
  });

  it('detects an inserted record: a second row at a position, or later rows shifted', () => {
    const rows = chainRows(20);
    const forged = { ...at(rows, 9), record: at(rows, 9).record.replace('"principal":"', '"principal":"Z') };
    const withDuplicate = [...rows.slice(0, 9), forged, ...rows.slice(9)];
    expect(verify(withDuplicate).broken).toMatchObject({ position: 9, reason: 'conflicting_rows' });
    // A well-formed forged link at 9, the originals renumbered from 10: breaks where they resume.
    const head = at(rows, 8);
    const shifted = [
      ...rows.slice(0, 8),
      ...chainRows(1, 'c0', { chain: 'c0', position: 8, hash: head.hash }),
      ...rows.slice(8).map((r) => ({ ...r, position: r.position + 1 })),
    ];
    expect(verify(shifted).broken).toMatchObject({ position: 10, reason: 'prev_hash_mismatch' });
  });

  it('accepts an identical retried copy of a row', () => {
    const rows = chainRows(10);
    expect(verify([...rows.slice(0, 4), at(rows, 4), ...rows.slice(4)])).toEqual({
      checked: 10,
      broken: undefined,
    });
  });

  it('detects two swapped records', () => {
    const rows = chainRows(20);
    const a = at(rows, 11);
    const b = at(rows, 12);
    rows[10] = { ...b, position: 11 };
    rows[11] = { ...a, position: 12 };
    expect(verify(rows).broken).toMatchObject({ position: 11, reason: 'prev_hash_mismatch' });
  });

  it('passes a whole chain recomputed after an edit: only a held digest catches it', () => {
    const rows = chainRows(30);
    const digest = { chain: 'c0', position: 30, hash: at(rows, 30).hash, at: '2026-01-02T00:00:00.000Z' };
    const row = at(rows, 3);
    rows[2] = {
      ...row,
      record: row.record.replace('"principal":"', '"principal":"X'),
      principal: `X${row.principal}`,
    };
    const rewritten = rehash(rows, 3);
    expect(verify(rewritten).broken).toBeUndefined();
    expect(checkDigestEntry(digest, [at(rewritten, 30)], 30)).toMatchObject({
      position: 30,
      reason: 'digest_mismatch',
    });
    expect(checkDigestEntry(digest, [at(chainRows(30), 30)], 30)).toBeUndefined();
  });

  it('reports a tail shorter than a held digest as truncated at the first missing position', () => {
    const digest = { chain: 'c0', position: 30, hash: 'a'.repeat(64), at: '2026-01-02T00:00:00.000Z' };
    expect(checkDigestEntry(digest, [], 25)).toMatchObject({ position: 26, reason: 'truncated' });
  });

  it('detects an extracted column changed without the record', () => {
    const rows = chainRows(10);
    rows[3] = { ...at(rows, 4), principal: 'someone-else' };
    expect(verify(rows).broken).toMatchObject({
      position: 4,
      reason: 'column_mismatch',
    });
    const timed = chainRows(10);
    timed[5] = { ...at(timed, 6), at_ms: at(timed, 6).at_ms + 1 };
    expect(verify(timed).broken).toMatchObject({ position: 6, reason: 'column_mismatch' });
  });

  it('detects a record that is not canonical even when its hash was recomputed', () => {
    const rows = chainRows(3);
    const record = ` ${at(rows, 1).record}`;
    rows[0] = { ...at(rows, 1), record, hash: chainHash(GENESIS_HASH, record) };
    expect(verify(rehash(rows, 1), { checkCanonical: true }).broken).toMatchObject({
      position: 1,
      reason: 'record_not_canonical',
    });
    expect(verify(rehash(rows, 1)).broken).toBeUndefined();
  });

  it('detects a row at position 0', () => {
    const rows = chainRows(3);
    expect(verify([{ ...at(rows, 1), position: 0 }, ...rows]).broken).toMatchObject({
      position: 0,
      reason: 'unexpected_position',
    });
  });

  it('resumes after a retention anchor', () => {
    const rows = chainRows(20);
    const anchor = { position: 10, hash: at(rows, 10).hash };
    expect(verify(rows.slice(10), { anchor })).toEqual({ checked: 10, broken: undefined });
    expect(verify(rows.slice(10), { anchor: { position: 10, hash: 'b'.repeat(64) } }).broken).toMatchObject({
      position: 11,
      reason: 'prev_hash_mismatch',
    });
  });

  it('requires source offsets to rise where they are set (the writer skips by them)', () => {
    const verifier = new ChainVerifier('c0');
    const offsets = [4, -1, 9, 20, 9_000_000_000_000_000_000, 21];
    const pushed = chainRows(6).map((row, i) =>
      verifier.push({ ...row, columns_match: true, source_offset: offsets[i] }),
    );
    expect(pushed).toEqual([true, true, true, true, true, false]);
    expect(verifier.firstBroken).toMatchObject({ position: 6, reason: 'offset_not_rising' });
    const unset = new ChainVerifier('c0');
    for (const row of chainRows(3)) expect(unset.push({ ...row, columns_match: true })).toBe(true);
  });

  it('property: any changed byte of any record is caught at its position', () => {
    // Records hold multi-byte characters ('café ☕'): the change is made to the UTF-8 bytes the hash
    // covers, and kept only when they are still UTF-8 (a stored String decoded as text), so the
    // tampered record differs from the original in exactly one byte.
    const rows = chainRows(40);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (position, offset, delta) => {
          const row = at(rows, position);
          const bytes = Buffer.from(row.record, 'utf8');
          const i = offset % bytes.length;
          bytes[i] = ((bytes[i] ?? 0) + delta) % 256;
          fc.pre(isUtf8(bytes));
          const record = bytes.toString('utf8');
          expect(Buffer.from(record, 'utf8').compare(bytes)).toBe(0);
          const tampered = rows.slice();
          tampered[position - 1] = { ...row, record };
          return verify(tampered).broken?.position === position;
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('position ranges', () => {
  async function read(
    rows: { position: number; id: string }[],
    page: number,
    last: number,
  ): Promise<{ ids: string[]; queries: number }> {
    let queries = 0;
    const reader = {
      fetch: (from: number, to: number) => {
        queries += 1;
        return Promise.resolve(rows.filter((r) => r.position >= from && r.position < to));
      },
      next: (from: number) => {
        queries += 1;
        return Promise.resolve(rows.find((r) => r.position >= from)?.position);
      },
    };
    const ids: string[] = [];
    for await (const row of positionRanges(reader, 0, last, page)) ids.push(row.id);
    return { ids, queries };
  }

  it('returns every row once, in order, whatever the page', async () => {
    const rows = [1, 2, 3, 3, 3, 4, 5, 5, 6, 7, 8].map((position, i) => ({
      position,
      id: `${position}:${i}`,
    }));
    for (const page of [1, 2, 3, 4, 5, 11, 50])
      expect((await read(rows, page, 8)).ids, `page ${page}`).toEqual(rows.map((r) => r.id));
  });

  it('jumps over a huge empty range in one query', async () => {
    const rows = [1, 2, 1e12].map((position) => ({ position, id: String(position) }));
    const { ids, queries } = await read(rows, 2, 1e12);
    expect(ids).toEqual(['1', '2', '1000000000000']);
    expect(queries).toBeLessThan(6);
  });

  it('stops at the last position asked for', async () => {
    const rows = [1, 2, 3, 40].map((position) => ({ position, id: String(position) }));
    expect((await read(rows, 2, 3)).ids).toEqual(['1', '2', '3']);
  });
});
