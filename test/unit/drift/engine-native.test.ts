import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNative, readNativeFile } from '../../../src/drift/store/native.js';

/** A Native block as ClickHouse writes it: varint columns, varint rows, then per column name, type, data. */
function block(columns: [string, string, Buffer][], rows: number): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)]);
  return Buffer.concat([
    Buffer.from([columns.length, rows]),
    ...columns.flatMap(([n, t, d]) => [str(n), str(t), d]),
  ]);
}
const u64 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(x));
      return b;
    }),
  );
const f64 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x);
      return b;
    }),
  );

describe('Native format reader', () => {
  it('reads the types drift queries return, across blocks', () => {
    const first = block(
      [
        [
          'w',
          'Int64',
          Buffer.concat([
            (() => {
              const b = Buffer.alloc(16);
              b.writeBigInt64LE(-5n);
              b.writeBigInt64LE(1764064800000n, 8);
              return b;
            })(),
          ]),
        ],
        ['role', 'String', Buffer.from('\u0007feature\u0005label')],
        ['values', 'Array(Float64)', Buffer.concat([u64(2, 3), f64(1.5, 2.5, -0.1)])],
        ['n', 'UInt64', u64(7, 9)],
      ],
      2,
    );
    const second = block(
      [
        ['w', 'Int64', Buffer.alloc(8)],
        ['role', 'String', Buffer.from('\u0005score')],
        ['values', 'Array(Float64)', u64(0)],
        ['n', 'UInt64', u64(0)],
      ],
      1,
    );
    const rows = parseNative(Buffer.concat([first, second]));
    expect(rows).toEqual([
      { w: -5, role: 'feature', values: Float64Array.from([1.5, 2.5]), n: 7 },
      { w: 1764064800000, role: 'label', values: Float64Array.from([-0.1]), n: 9 },
      { w: 0, role: 'score', values: new Float64Array(0), n: 0 },
    ]);
  });

  it('reads string arrays, counts and single floats, and refuses other types', () => {
    const rows = parseNative(
      block(
        [
          ['texts', 'Array(String)', Buffer.concat([u64(2), Buffer.from('\u0001a\u0002bc')])],
          ['counts', 'Array(UInt64)', Buffer.concat([u64(2), u64(3, 4)])],
          ['std', 'Float64', f64(0.25)],
          ['flag', 'UInt8', Buffer.from([1])],
        ],
        1,
      ),
    );
    expect(rows).toEqual([{ texts: ['a', 'bc'], counts: [3, 4], std: 0.25, flag: 1 }]);
    expect(() => parseNative(block([['x', 'LowCardinality(String)', Buffer.alloc(0)]], 1))).toThrow(
      /not supported here; cast it/,
    );
  });

  it('reads a file in concurrent chunks into exactly its bytes, in private or shared memory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-native-read-'));
    try {
      const file = path.join(dir, 'result.bin');
      // Not a multiple of the chunk: the last chunk is short.
      await writeFile(file, randomBytes(1_000_003));
      const expected = await readFile(file);
      for (const chunk of [1_000, 65_536, 4_000_000]) {
        const own = await readNativeFile(file, {}, chunk);
        const shared = await readNativeFile(file, { shared: true }, chunk);
        expect(own.equals(expected)).toBe(true);
        expect(shared.equals(expected)).toBe(true);
        expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      expect((await readNativeFile(path.join(dir, 'missing.bin'))).length).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
