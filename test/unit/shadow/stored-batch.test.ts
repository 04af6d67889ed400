import { describe, expect, it } from 'vitest';
import { batchQuery, safeMark, sqlString } from '../../../src/shadow/feed-sql.js';
import { encodeShadowRows, readStoredBatch } from '../../../src/shadow/stored-batch.js';

/** A RowBinary String. */
const str = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  const length: number[] = [];
  let n = bytes.length;
  do {
    length.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from(length), bytes]);
};
const int64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
};
const nullableFloat = (x: number | null) => {
  if (x === null) return Buffer.of(1);
  const b = Buffer.alloc(9);
  b.writeDoubleLE(x, 1);
  return b;
};

/** Leading fields as the engine writes them in RowBinary. */
const heads = [
  Buffer.concat([
    str('m'),
    str('2'),
    str('a\tx'),
    int64(Date.UTC(2026, 0, 1)),
    str('1'),
    str('1'),
    nullableFloat(0.25),
  ]),
  Buffer.concat([
    str('m'),
    str('2'),
    str('é'.repeat(100)),
    int64(Date.UTC(2026, 0, 1, 0, 0, 1)),
    str('1'),
    str('0'),
    nullableFloat(null),
  ]),
];
const features = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);
const row = (head: Buffer, at: number, x: number[], bad: number) =>
  Buffer.concat([head, int64(at), features(x), Buffer.of(bad)]);
/** The batch query's bytes for two features per row. */
const bytes = () =>
  Buffer.concat([
    row(heads[0]!, 1000, [1.5, 0], 0),
    row(heads[1]!, 1002, [-2, 3], 2),
    row(heads[1]!, 1001, [1e39, Number.NaN], 1),
  ]);

describe('readStoredBatch', () => {
  it('decodes the matrix, the refusal codes, each row’s leading fields and the latest ingested_at', () => {
    const batch = readStoredBatch(bytes(), 2);
    expect(batch.rows).toBe(3);
    expect([...batch.values]).toEqual([1.5, 0, -2, 3, Number.POSITIVE_INFINITY, Number.NaN]);
    expect([...batch.refused]).toEqual([
      [1, 'wrong_type'],
      [2, 'missing'],
    ]);
    const head = (r: number) => batch.head.subarray(batch.starts[r], batch.ends[r]);
    expect([0, 1, 2].map(head)).toEqual([heads[0], heads[1], heads[1]]);
    expect(batch.lastIngestedAt).toBe(1002);
  });

  it('refuses bytes that end early or carry an unknown code, naming the row', () => {
    // Read as three features, the second row starts inside the first row's bytes.
    expect(() => readStoredBatch(bytes(), 3)).toThrow(/row 1: /);
    expect(() => readStoredBatch(row(heads[0]!, 1, [1, 2], 0), 3)).toThrow(
      /row 0: the row does not hold 3 Float32 features/,
    );
    expect(() => readStoredBatch(bytes().subarray(0, bytes().length - 1), 2)).toThrow(/row 2/);
    expect(() => readStoredBatch(Buffer.concat([row(heads[0]!, 1, [1, 2], 7)]), 2)).toThrow(
      /row 0: unknown refusal code 7/,
    );
    // A string length running past the end.
    expect(() => readStoredBatch(Buffer.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 1)).toThrow(/row 0/);
  });

  it('reads code 3 as out_of_range, the core’s reason for a number beyond float32', () => {
    const batch = readStoredBatch(row(heads[0]!, 1, [1e39, 0], 3), 2);
    expect([...batch.refused]).toEqual([[0, 'out_of_range']]);
  });

  it('reads an empty batch', () => {
    expect(readStoredBatch(Buffer.alloc(0), 4).rows).toBe(0);
  });
});

describe('encodeShadowRows', () => {
  it('appends the challenger’s fields to each row in RowBinary', () => {
    const batch = readStoredBatch(bytes(), 2);
    const at = Date.UTC(2026, 11, 2, 12, 0, 0, 5);
    const body = encodeShadowRows(
      batch,
      {
        labels: ['1', null, 'ta\tb\\n\nl'],
        scores: [0.75, Number.NaN, Number.POSITIVE_INFINITY],
        failed: new Map([[1, 'wrong_type']]),
      },
      at,
    );
    expect(body).toEqual(
      Buffer.concat([
        heads[0]!,
        str('1'),
        nullableFloat(0.75),
        Buffer.of(0),
        str(''),
        int64(at),
        heads[1]!,
        str(''),
        nullableFloat(null),
        Buffer.of(1),
        str('wrong_type'),
        int64(at),
        // A non-finite score is stored as null; the row still counts as scored.
        heads[1]!,
        str('ta\tb\\n\nl'),
        nullableFloat(null),
        Buffer.of(0),
        str(''),
        int64(at),
      ]),
    );
  });
});

describe('batchQuery', () => {
  it('quotes feature names and categories as string literals', () => {
    expect(sqlString("it's a \\ name\0")).toBe("'it\\'s a \\\\ name\\0'");
    const sql = batchQuery([
      { name: "o'brien", type: 'number' },
      { name: 'region', type: 'string', categories: ['n\\e', "s'w"] },
    ]);
    expect(sql).toContain("mapContains(features_num, 'o\\'brien')");
    expect(sql).toContain("indexOf(['n\\\\e', 's\\'w'], features_str['region'])");
  });
  it('refuses a number beyond float32 as out of range (code 3), numeric columns only', () => {
    const sql = batchQuery([
      { name: 'x', type: 'number' },
      { name: 'region', type: 'string', categories: ['n'] },
    ]);
    expect(sql).toContain("abs(features_num['x']) > 3.4028234663852886e+38, 3");
    expect(sql).not.toContain("abs(features_str['region'])");
  });
  it('reads whole inserts in ingested_at order, and only the held slots when asked', () => {
    const sql = batchQuery([{ name: 'a', type: 'number' }]);
    expect(sql).toContain('ORDER BY i LIMIT {limit:UInt32} WITH TIES');
    expect(sql).not.toContain('cityHash64');
    expect(batchQuery([{ name: 'a', type: 'number' }], true)).toContain(
      'cityHash64(p.prediction_id) % {slots:UInt16} IN {held:Array(UInt16)}',
    );
  });
});

describe('safeMark', () => {
  it('stays before the oldest running insert and before now', () => {
    expect(safeMark(1000, null)).toBe(998);
    expect(safeMark(1000, 900)).toBe(898);
    expect(safeMark(1000, 1005)).toBe(998);
  });
});
