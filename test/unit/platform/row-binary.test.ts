import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinRows, RowBinaryWriter } from '../../../src/platform/clickhouse/index.js';
import { RowBinaryReader } from '../../support/prediction-row.js';

/** A row of a map with `n` entries, then a trailing text: what `endCount` must not disturb. */
const mapRow = (writer: RowBinaryWriter, n: number, tail = 'end') =>
  writer.row((row) => {
    row.string('head');
    const kept = row.beginCount();
    for (let i = 0; i < n; i++) {
      row.string(`k${i}`);
      row.float64(i + 0.5);
    }
    row.endCount(kept, n);
    row.string(tail);
  });

function readMapRow(bytes: Buffer) {
  const reader = new RowBinaryReader(bytes);
  const row = { head: reader.string(), map: reader.map(() => reader.float64()), tail: reader.string() };
  expect(reader.done).toBe(true);
  return row;
}

describe('RowBinaryWriter', () => {
  it('writes sizes after their entries, in one byte or several (LEB128)', () => {
    for (const n of [0, 1, 127, 128, 300, 20_000]) {
      const { head, map, tail } = readMapRow(mapRow(new RowBinaryWriter(), n));
      expect([head, tail, map.length]).toEqual(['head', 'end', n]);
      expect(map[n - 1]).toEqual(n > 0 ? [`k${n - 1}`, n - 0.5] : undefined);
    }
  });

  it('moves a row that outgrows its slab, whole, and keeps the rows already handed out', () => {
    const writer = new RowBinaryWriter(64);
    const rows = [10, 200, 0, 129, 3].map((n) => mapRow(writer, n, `tail-${n}`));
    rows.forEach((row, i) => {
      const n = [10, 200, 0, 129, 3][i]!;
      expect(readMapRow(row)).toMatchObject({ tail: `tail-${n}` });
      expect(readMapRow(row).map).toHaveLength(n);
    });
  });

  it('writes texts as UTF-8 with their byte length, lone surrogates as U+FFFD', () => {
    const texts = [
      '',
      'a',
      'x'.repeat(64),
      'x'.repeat(65),
      'é'.repeat(100),
      'Zürich 🏔',
      'a\ud800b',
      '\udfff',
    ];
    const writer = new RowBinaryWriter(8);
    const row = writer.row((w) => texts.forEach((t) => w.string(t)));
    const reader = new RowBinaryReader(row);
    expect(texts.map(() => reader.string())).toEqual(texts.map((t) => Buffer.from(t).toString()));
    expect(reader.done).toBe(true);
  });

  it('writes numbers to the bit: Float64, Int64 on both sides of 1970, nullables', () => {
    const writer = new RowBinaryWriter(16);
    const row = writer.row((w) => {
      w.float64(-0);
      w.float64(5e-324);
      w.int64(Date.UTC(1900, 0, 1));
      w.int64(Date.UTC(2299, 11, 31, 23, 59, 59, 999));
      w.int64(-1);
      w.nullableFloat64(null);
      w.nullableFloat64(2.5);
      w.bool(true);
    });
    const reader = new RowBinaryReader(row);
    expect(Object.is(reader.float64(), -0)).toBe(true);
    expect(reader.float64()).toBe(5e-324);
    expect(reader.int64()).toBe(BigInt(Date.UTC(1900, 0, 1)));
    expect(reader.int64()).toBe(BigInt(Date.UTC(2299, 11, 31, 23, 59, 59, 999)));
    expect(reader.int64()).toBe(-1n);
    expect([reader.nullableFloat64(), reader.nullableFloat64(), reader.uint8()]).toEqual([null, 2.5, 1]);
    expect(reader.done).toBe(true);
  });

  it('starts a row afresh after one that threw half-way', () => {
    const writer = new RowBinaryWriter();
    expect(() =>
      writer.row((w) => {
        w.string('half');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(new RowBinaryReader(writer.row((w) => w.string('whole'))).string()).toBe('whole');
  });
});

describe('joinRows', () => {
  it('gives the rows one after another, whichever of them lie side by side in memory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }),
        fc.integer({ min: 16, max: 512 }),
        (sizes, kept, slab) => {
          const writer = new RowBinaryWriter(slab);
          const rows = sizes.map((n, i) => mapRow(writer, n, `r${i}`));
          // A subset, as a batch that lost rows to dead letters; some rows copied out of their slab.
          const chosen = rows
            .filter((_, i) => kept[i])
            .map((row, i) => (i % 5 === 4 ? Buffer.from(row) : row));
          expect(joinRows(chosen).equals(Buffer.concat(chosen))).toBe(true);
        },
      ),
    );
  });

  it('copies nothing for rows of one slab', () => {
    const writer = new RowBinaryWriter();
    const rows = [1, 2, 3].map((n) => mapRow(writer, n));
    const body = joinRows(rows);
    expect(body.buffer).toBe(rows[0]!.buffer);
    expect(body.length).toBe(rows.reduce((sum, r) => sum + r.length, 0));
  });
});
