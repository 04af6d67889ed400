/**
 * A Native result file read without its numbers (native-file.ts): the rows must be the ones
 * `parseNative` reads from the whole file, each column's numbers read on demand into the memory
 * given, and the file closed once its holders let it go.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NativeResultFile, type FileNumbers } from '../../../src/drift/store/native-file.js';
import { parseNative } from '../../../src/drift/store/native.js';
import { floatsFirst, u64, varint } from './native-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-native-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function written(bytes: Buffer): Promise<string> {
  const file = path.join(dir, `result-${Math.random()}.bin`);
  await writeFile(file, bytes);
  return file;
}

/** Rows with each pending column read into a new array, to compare with `parseNative`. */
async function readAll(file: NativeResultFile) {
  return Promise.all(
    file.rows.map(async (row) => {
      const out: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(row))
        out[name] = isPending(value) ? await value.read() : value;
      return out;
    }),
  );
}

function isPending(value: unknown): value is FileNumbers {
  return typeof value === 'object' && value !== null && 'read' in value;
}

/** A block of `rows` rows: an Array(Float64) column of k % 4 values each, then long names. */
function manyRows(rows: number): Buffer {
  const str = (t: string) => Buffer.concat([varint(Buffer.byteLength(t)), Buffer.from(t)]);
  const lengths = Array.from({ length: rows }, (_, k) => k % 4);
  const ends: number[] = [];
  lengths.reduce((end, n) => (ends.push(end + n), end + n), 0);
  const floats = Buffer.alloc(8 * (ends.at(-1) ?? 0));
  for (let i = 0; i < floats.length / 8; i++) floats.writeDoubleLE(i / 3 - 7, 8 * i);
  return Buffer.concat([
    varint(2),
    varint(rows),
    str('values'),
    str('Array(Float64)'),
    u64(...ends),
    floats,
    str('column'),
    str('String'),
    ...lengths.map((_, k) => str(`${'n'.repeat(90)}-${k}`)),
  ]);
}

describe('a Native result file read without its numbers', () => {
  it('has the rows parseNative reads from the whole file, across blocks and pieces of any size', async () => {
    // 3,000 rows of long names: the names of a block are over 64 KiB, read in a grown piece.
    const bytes = Buffer.concat([
      floatsFirst('values', 130).bytes,
      manyRows(3_000),
      floatsFirst('v', 3).bytes,
    ]);
    const file = await NativeResultFile.open(await written(bytes));
    file.hold(1);
    expect(await readAll(file)).toEqual(parseNative(bytes));
    expect(file.rows.length).toBe(130 + 3_000 + 3);
    file.release();
  });

  it('reads numbers into the memory given, shared or not, and refuses memory of another length', async () => {
    const { bytes, values } = floatsFirst('values', 40);
    const file = await NativeResultFile.open(await written(bytes));
    file.hold(1);
    const numbers = file.rows[39]!['values'] as FileNumbers;
    expect(numbers.length).toBe(40);
    const slot = new Float64Array(new SharedArrayBuffer(8 * 64)).subarray(8, 48);
    expect(await numbers.read(slot)).toBe(slot);
    expect(Array.from(slot)).toEqual(values[39]);
    await expect(numbers.read(new Float64Array(39))).rejects.toThrow(/room for 39 values, 40 to read/);
    file.release();
  });

  it('removes the file name at once, and closes the file when its last holder lets go', async () => {
    const { bytes, values } = floatsFirst('values', 5);
    const name = await written(bytes);
    const file = await NativeResultFile.open(name);
    expect(existsSync(name)).toBe(false);
    file.hold(2);
    const numbers = file.rows[4]!['values'] as FileNumbers;
    file.release();
    expect(Array.from(await numbers.read())).toEqual(values[4]);
    file.release();
    expect(file.open).toBe(false);
    await expect(numbers.read()).rejects.toThrow(/released before its numbers were read/);
  });

  it('closes at once with no holders, and a missing file (no row written) has no rows', async () => {
    const file = await NativeResultFile.open(await written(floatsFirst('values', 2).bytes));
    file.hold(0);
    expect(file.open).toBe(false);
    const missing = await NativeResultFile.open(path.join(dir, 'missing.bin'));
    expect(missing.rows).toEqual([]);
  });

  it('fails clearly on a file cut short, in its layout or in its numbers', async () => {
    const { bytes } = floatsFirst('values', 20);
    await expect(NativeResultFile.open(await written(bytes.subarray(0, 30)))).rejects.toThrow(
      /unexpected end of data/,
    );
    // Cut inside the names that follow the floats, and inside the floats (which the layout skips).
    for (const cut of [10, 100])
      await expect(
        NativeResultFile.open(await written(bytes.subarray(0, bytes.length - cut))),
      ).rejects.toThrow(/unexpected end of data/);
    // 640 KB of floats, cut past the first piece the layout reads.
    const large = floatsFirst('values', 400).bytes;
    await expect(NativeResultFile.open(await written(large.subarray(0, 300_000)))).rejects.toThrow(
      /unexpected end of data/,
    );
  });
});
