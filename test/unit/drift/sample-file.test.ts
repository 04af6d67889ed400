import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNative, readNativeFile, writeNativeFile } from '../../../src/drift/store/native.js';
import {
  nativeBlock,
  rewriteSorted,
  SAMPLE_FILE_STRUCTURE,
  type SampleColumn,
} from '../../../src/drift/store/sample-file.js';
import { openDatabase, type Database } from '../../../src/platform/clickhouse/index.js';

/**
 * Names whose order differs between JavaScript's strings (UTF-16 code units: the emoji's surrogate
 * 0xD83D sorts before U+FF5E) and ClickHouse's (UTF-8 bytes: EF BD 9E before F0 9F 98 80), and
 * plain ones a hash table puts out of order.
 */
const NAMES = ['\u{1F600}', '\uFF5E', 'a10', 'a2', 'b', 'a1', 'Z', 'é', 'e', ...'mnopqrstuv'];

const utf8Order = (names: readonly string[]) =>
  [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('a reference sample file in the table order', () => {
  let db: Database;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-sample-file-'));
    db = await openDatabase({ url: undefined, cluster: undefined, database: 'sample_file', dataDir });
    await db.client.command({
      query: `CREATE TABLE samples (column String, numbers Array(Float64))
        ENGINE = ReplacingMergeTree ORDER BY column`,
    });
  });
  afterAll(async () => {
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const alreadySorted = async (): Promise<number> => {
    const result = await db.client.query({
      query:
        "SELECT sum(value) AS n FROM system.events WHERE event = 'MergeTreeDataWriterBlocksAlreadySorted'",
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number | string }>();
    return Number(row?.n ?? 0);
  };

  /** What the engine gathers: a column per name, its numbers sorted, in its hash table's order. */
  const gather = () =>
    writeNativeFile(
      db,
      `SELECT arraySort(groupArray(toFloat64(number % 7) - 3 + 1 / (number + 1))) AS values, toInt64(0) AS w, name AS column
       FROM numbers(2000) ARRAY JOIN [${NAMES.map((n) => `'${n}'`).join(', ')}] AS name
       WHERE (number + length(name)) % 3 != 0
       GROUP BY column SETTINGS group_by_two_level_threshold = 1, group_by_two_level_threshold_bytes = 1`,
      {},
    );

  const insertFrom = (file: string, structure?: string) =>
    db.client.command({
      query: `INSERT INTO samples SELECT column, values
        FROM file('${file}', 'Native'${structure ? `, '${structure}'` : ''})`,
      clickhouse_settings: { optimize_on_insert: 0 },
    });

  it('holds the same columns and numbers, ordered as the engine orders names, and inserts without a sort', async () => {
    const file = await gather();
    try {
      const gathered = parseNative(await readNativeFile(file, { shared: true })).map((row): SampleColumn => ({
        column: String(row['column']),
        values: row['values'] as Float64Array,
      }));
      const order = gathered.map((c) => c.column);
      // The case this guards: the engine's order is not the table's.
      expect(order).not.toEqual(utf8Order(order));
      expect(new Set(order)).toEqual(new Set(NAMES));
      await db.client.command({ query: 'TRUNCATE TABLE samples' });
      const before = await alreadySorted();
      await insertFrom(file);
      expect(await alreadySorted()).toBe(before);

      await rewriteSorted(file, gathered);
      const rewritten = parseNative(await readFile(file));
      expect(rewritten.map((row) => row['column'])).toEqual(utf8Order(NAMES));
      for (const row of rewritten) {
        const original = gathered.find((c) => c.column === row['column'])!;
        expect(Array.from(row['values'] as Float64Array)).toEqual(Array.from(original.values));
      }

      await db.client.command({ query: 'TRUNCATE TABLE samples' });
      const sortedBefore = await alreadySorted();
      await insertFrom(file, SAMPLE_FILE_STRUCTURE);
      expect(await alreadySorted()).toBe(sortedBefore + 1);
      const stored = await (
        await db.client.query({
          query: 'SELECT column, numbers FROM samples ORDER BY column',
          format: 'JSONEachRow',
        })
      ).json<{ column: string; numbers: number[] }>();
      expect(stored.map((r) => r.column)).toEqual(utf8Order(NAMES));
      for (const r of stored)
        expect(r.numbers).toEqual(Array.from(gathered.find((c) => c.column === r.column)!.values));
    } finally {
      await rm(file, { force: true });
    }
  });

  it('writes a block the reader takes back, empty columns and 128 rows or more included', () => {
    const columns = Array.from({ length: 130 }, (_, k): SampleColumn => ({
      column: `c${k}`,
      values: Float64Array.from({ length: k % 5 }, (_, i) => k - i / 3),
    }));
    const rows = parseNative(Buffer.concat(nativeBlock(columns)));
    expect(rows).toEqual(columns.map((c) => ({ column: c.column, values: c.values })));
  });
});
