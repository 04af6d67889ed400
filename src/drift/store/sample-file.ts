/**
 * A reference's sorted numbers, written back over the engine's gathered file in the order of
 * `drift_reference_values`' key, so that the sample's insert takes its block as it is.
 *
 * The table is ordered by (model, version, revision, role, column, part), and one insert holds one
 * role's columns: a block in the gather's order (its hash table's) is permuted by the writer, and a
 * ReplacingMergeTree block is copied once more when it is merged on insert. Measured on a 100 ×
 * 1M sample (800 MB, a scratch table like `drift_reference_values`, each insert in a fresh
 * process): 4.25–4.31 s and 663k page faults as gathered; 1.12–1.35 s and 209k (the read of the
 * file alone) in column order with `optimize_on_insert = 0`. Sorting in the insert's own SELECT
 * copies the block twice (599k faults). The rewrite is in place: the file's pages are reused, and
 * no second file holds memory beside it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { varUIntBytes, writeVarUInt } from '../../platform/clickhouse/index.js';

/** The structure of a rewritten file, to read it with (`file(path, 'Native', SAMPLE_FILE_STRUCTURE)`). */
export const SAMPLE_FILE_STRUCTURE = 'column String, values Array(Float64)';

export interface SampleColumn {
  column: string;
  values: Float64Array;
}

/**
 * Replaces the file's content with one Native block of `columns` sorted by name as ClickHouse
 * compares strings (their UTF-8 bytes). The values must not live in the file (they are written
 * over it): callers pass what they read from it into memory.
 */
export async function rewriteSorted(file: string, columns: readonly SampleColumn[]): Promise<void> {
  const pieces = nativeBlock(sortedByName(columns));
  const handle = await open(file, 'r+');
  try {
    let position = 0;
    const writes: Promise<unknown>[] = [];
    for (const piece of pieces) {
      // Positional writes, so that libuv's threads copy the pieces at once.
      writes.push(writeFully(handle, piece, position));
      position += piece.length;
    }
    await Promise.all(writes);
    await handle.truncate(position);
  } finally {
    await handle.close();
  }
}

function sortedByName(columns: readonly SampleColumn[]): SampleColumn[] {
  const named = columns.map((c) => ({ c, key: Buffer.from(c.column, 'utf8') }));
  named.sort((a, b) => Buffer.compare(a.key, b.key));
  return named.map(({ c }) => c);
}

/** One Native block (`SAMPLE_FILE_STRUCTURE`) as pieces to write in order; the numbers are views, not copies. */
export function nativeBlock(columns: readonly SampleColumn[]): Buffer[] {
  const head = [varUInt(2), varUInt(columns.length), text('column'), text('String')];
  for (const c of columns) head.push(text(c.column));
  head.push(text('values'), text('Array(Float64)'));
  const offsets = Buffer.alloc(8 * columns.length);
  let end = 0;
  columns.forEach((c, k) => offsets.writeBigUInt64LE(BigInt((end += c.values.length)), 8 * k));
  return [
    Buffer.concat([...head, offsets]),
    ...columns.map((c) => Buffer.from(c.values.buffer, c.values.byteOffset, c.values.byteLength)),
  ];
}

/** LEB128, as Native writes counts and lengths (the RowBinary writer's encoding). */
function varUInt(value: number): Buffer {
  const bytes = Buffer.alloc(varUIntBytes(value));
  writeVarUInt(bytes, 0, value);
  return bytes;
}

function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([varUInt(bytes.length), bytes]);
}

async function writeFully(handle: FileHandle, piece: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < piece.length) {
    const { bytesWritten } = await handle.write(piece, done, piece.length - done, position + done);
    done += bytesWritten;
  }
}
