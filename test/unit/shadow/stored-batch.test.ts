import { describe, expect, it } from 'vitest';
import { batchEnd, batchQuery, safeMark, sqlString } from '../../../src/shadow/feed-sql.js';
import { encodeShadowRows, readStoredBatch } from '../../../src/shadow/stored-batch.js';

/** Leading fields as the engine writes them in TabSeparated (escaped). */
const heads = [
  'm\t2\ta\\tx\t2026-01-01 00:00:00.000\t1\t1\t0.25',
  'm\t2\té\t2026-01-01 00:00:01.000\t1\t0\t\\N',
];
const hex = (values: number[]) => Buffer.from(Float32Array.from(values).buffer).toString('hex');
const line = (head: string, x: string, bad: number) => `${head}\t${x}\t${bad}\n`;
/** The batch query's text for two features per row (the engine writes upper-case hex). */
const text = () =>
  Buffer.from(
    line(heads[0]!, hex([1.5, 0]).toUpperCase(), 0) +
      line(heads[1]!, hex([-2, 3]), 2) +
      line(heads[1]!, hex([1e39, Number.NaN]), 1),
  );

describe('readStoredBatch', () => {
  it('decodes the matrix, the refusal codes and each row’s leading fields', () => {
    const batch = readStoredBatch(text(), 2);
    expect(batch.rows).toBe(3);
    expect([...batch.values]).toEqual([1.5, 0, -2, 3, Number.POSITIVE_INFINITY, Number.NaN]);
    expect([...batch.refused]).toEqual([
      [1, 'wrong_type'],
      [2, 'missing'],
    ]);
    const head = (r: number) => batch.head.toString('utf8', batch.starts[r], batch.ends[r]);
    expect([0, 1, 2].map(head)).toEqual([heads[0], heads[1], heads[1]]);
  });

  it('refuses a line without the features at its end, naming the row', () => {
    expect(() => readStoredBatch(text(), 3)).toThrow(/row 0: the line does not end in 3 hex Float32/);
    const bad = Buffer.from(line(heads[0]!, hex([1.5, 0]), 0) + line(heads[1]!, `${hex([1])}zzzzzzzz`, 0));
    expect(() => readStoredBatch(bad, 2)).toThrow(/row 1: features are not hex/);
    expect(() => readStoredBatch(Buffer.from('a\n'), 1)).toThrow(/row 0/);
  });

  it('reads an empty batch', () => {
    expect(readStoredBatch(Buffer.alloc(0), 4).rows).toBe(0);
  });
});

describe('encodeShadowRows', () => {
  it('appends the challenger’s fields to each row, escaped for TabSeparated', () => {
    const batch = readStoredBatch(text(), 2);
    const body = encodeShadowRows(
      batch,
      {
        labels: ['1', null, 'ta\tb\\n\nl'],
        scores: [0.75, Number.NaN, Number.POSITIVE_INFINITY],
        failed: new Map([[1, 'wrong_type']]),
      },
      Date.UTC(2026, 11, 2, 12, 0, 0, 5),
    );
    expect(body.toString('utf8').split('\n')).toEqual([
      `${heads[0]}\t1\t0.75\tfalse\t\t2026-12-02 12:00:00.005`,
      `${heads[1]}\t\t\\N\ttrue\twrong_type\t2026-12-02 12:00:00.005`,
      // A non-finite score is stored as null; the row still counts as scored.
      `${heads[1]}\tta\\tb\\\\n\\nl\t\\N\tfalse\t\t2026-12-02 12:00:00.005`,
      '',
    ]);
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
});

describe('batchEnd', () => {
  const g = (at: number, n: number) => ({ at, n });
  it('takes whole inserts up to the row budget, at least one', () => {
    expect(batchEnd([g(10, 5), g(11, 5), g(12, 5)], 99, 10)).toBe(11);
    expect(batchEnd([g(10, 50), g(11, 5)], 99, 10)).toBe(10);
    expect(batchEnd([g(10, 5), g(11, 5)], 99, 10)).toBe(99);
  });
  it('stops at the last listed insert when the list was cut', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => g(i + 1, 1));
    expect(batchEnd(many, 50_000, 20_000)).toBe(10_000);
  });
});

describe('safeMark', () => {
  it('stays before the oldest running insert and before now', () => {
    expect(safeMark(1000, null)).toBe(998);
    expect(safeMark(1000, 900)).toBe(898);
    expect(safeMark(1000, 1005)).toBe(998);
  });
});
