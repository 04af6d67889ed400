import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { firstFloatsAt, parseNative, placeAligned, readNativeFile } from '../../../src/drift/store/native.js';
import { block, f64, floatsFirst, u64 } from './native-fixtures.js';

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

  it('places a file so that its first Array(Float64) is views, whatever the name and row count', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-native-align-'));
    try {
      const file = path.join(dir, 'result.bin');
      // 127 and 128 rows: the row count's varint grows from one byte to two.
      for (const rows of [1, 3, 127, 128, 300]) {
        for (const name of ['numbers', 'values', 'v', 'value_x']) {
          const { bytes, values } = floatsFirst(name, rows);
          await writeFile(file, bytes);
          expect(firstFloatsAt(bytes)).toBeDefined();
          for (const shared of [false, true]) {
            const buf = await readNativeFile(file, { shared });
            expect(buf.equals(bytes)).toBe(true);
            const parsed = parseNative(buf);
            expect(parsed.map((r) => Array.from(r[name] as Float64Array))).toEqual(values);
            for (const row of parsed) {
              const floats = row[name] as Float64Array;
              expect(floats.buffer).toBe(buf.buffer);
              expect(floats.buffer instanceof SharedArrayBuffer).toBe(shared);
            }
            expect(parsed.map((r) => r['column'])).toEqual(values.map((_, k) => `c${k}`));
          }
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('copies floats it cannot view into the same kind of memory as the response', () => {
    // `role` first: the floats start at an odd offset in this block.
    const bytes = block(
      [
        ['role', 'String', Buffer.from('\u0007feature')],
        ['values', 'Array(Float64)', Buffer.concat([u64(3), f64(1.5, 2.5, -0.1)])],
      ],
      1,
    );
    for (const shared of [false, true]) {
      const buf = shared ? Buffer.from(new SharedArrayBuffer(bytes.length)) : Buffer.from(bytes);
      buf.set(bytes);
      const floats = parseNative(buf)[0]!['values'] as Float64Array;
      expect(Array.from(floats)).toEqual([1.5, 2.5, -0.1]);
      expect(floats.buffer).not.toBe(buf.buffer);
      expect(floats.buffer instanceof SharedArrayBuffer).toBe(shared);
    }
  });

  it('finds no first floats in other layouts or a short header', () => {
    const { bytes } = floatsFirst('values', 3);
    expect(firstFloatsAt(bytes)).toBe(2 + 7 + 15 + 3 * 8);
    expect(firstFloatsAt(bytes.subarray(0, 10))).toBeUndefined();
    expect(firstFloatsAt(Buffer.alloc(0))).toBeUndefined();
    expect(firstFloatsAt(block([['n', 'UInt64', u64(7)]], 1))).toBeUndefined();
  });

  it('places a server response, in chunks of any size, as it places a file', () => {
    for (const rows of [3, 130]) {
      const { bytes, values } = floatsFirst('numbers', rows);
      for (const cut of [1, 5, 64, bytes.length]) {
        const chunks = Array.from({ length: Math.ceil(bytes.length / cut) }, (_, k) =>
          bytes.subarray(k * cut, (k + 1) * cut),
        );
        for (const shared of [false, true]) {
          const buf = placeAligned(chunks, shared);
          expect(buf.equals(bytes)).toBe(true);
          const parsed = parseNative(buf);
          expect(parsed.map((r) => Array.from(r['numbers'] as Float64Array))).toEqual(values);
          for (const row of parsed) expect((row['numbers'] as Float64Array).buffer).toBe(buf.buffer);
          expect(buf.buffer instanceof SharedArrayBuffer).toBe(shared);
        }
      }
    }
    expect(placeAligned([], true).length).toBe(0);
  });
});
