/**
 * A Native result file read without its numbers: each Array(Float64) value stays in the file as
 * `FileNumbers` and is read when it is used, into memory the reader gives (a walk thread's reused
 * slot, a reused buffer), instead of the whole result being read into fresh memory first. For a
 * 100 × 1M window that is 800 MB less in this process and no wait for the whole read before the
 * first walk starts. The file is open until every holder has let it go (`NativeResultFile.hold`).
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { EndOfData, NativeReader, type NativeValue } from './native.js';

/** A column's numbers still in the result file. */
export interface FileNumbers {
  readonly length: number;
  /** Reads them into `into` (exactly `length` long), or into a new array. */
  read(into?: Float64Array): Promise<Float64Array>;
}

export type LazyNativeValue = NativeValue | FileNumbers;

export class NativeResultFile {
  private holders = 0;

  private constructor(
    private readonly state: OpenFile,
    readonly rows: Record<string, LazyNativeValue>[],
  ) {}

  /**
   * Opens the file the engine wrote, reads everything but its numbers, and removes its name (the
   * open file keeps its pages, so a killed process leaves nothing behind). A missing file (a
   * statement that wrote no row) has no rows.
   */
  static async open(file: string): Promise<NativeResultFile> {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return new NativeResultFile({ closing: Promise.resolve() }, []);
      throw err;
    } finally {
      await rm(file, { force: true });
    }
    const state: OpenFile = { handle };
    try {
      const { size } = await handle.stat();
      const rows = await readLayout(handle, size, (position, length) => fileNumbers(state, position, length));
      return new NativeResultFile(state, rows);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** `count` more holders; the file closes once each has called `release` (at once if there are none). */
  hold(count: number): void {
    this.holders += count;
    if (this.holders <= 0) void this.close();
  }

  release(): void {
    this.holders--;
    if (this.holders <= 0) void this.close();
  }

  close(): Promise<void> {
    this.state.closing ??= this.state.handle?.close().catch(() => undefined) ?? Promise.resolve();
    return this.state.closing;
  }

  /** Whether its numbers can still be read. */
  get open(): boolean {
    return this.state.closing === undefined;
  }
}

interface OpenFile {
  handle?: FileHandle;
  /** Set once closing starts. */
  closing?: Promise<void> | undefined;
}

function fileNumbers(file: OpenFile, position: number, length: number): FileNumbers {
  return {
    length,
    async read(into = new Float64Array(length)) {
      if (into.length !== length)
        throw new RangeError(`FileNumbers.read: room for ${into.length} values, ${length} to read`);
      if (file.closing !== undefined || !file.handle)
        throw new Error('Native: the result file was released before its numbers were read');
      const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
      if ((await readAt(file.handle, bytes, position)) < bytes.length)
        throw new Error('Native: the result file ended before its numbers');
      return into;
    },
  };
}

/** Reads `bytes.length` bytes at `position`; fewer only at the end of the file. */
async function readAt(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesRead } = await handle.read(bytes, done, bytes.length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** The file's rows, each Array(Float64) value left in the file (`numbers` makes its handle). */
async function readLayout(
  handle: FileHandle,
  size: number,
  numbers: (position: number, length: number) => FileNumbers,
): Promise<Record<string, LazyNativeValue>[]> {
  const file = new PieceReader(handle, size);
  const rows: Record<string, LazyNativeValue>[] = [];
  while (file.position < size) {
    const [columns, count] = await file.parse((r) => [r.varUInt(), r.varUInt()] as const);
    const block = Array.from({ length: count }, (): Record<string, LazyNativeValue> => ({}));
    for (let c = 0; c < columns; c++) {
      const [name, type] = await file.parse((r) => [r.string(), r.string()] as const);
      let values: LazyNativeValue[];
      if (type === 'Array(Float64)') {
        const ends = await file.parse((r) => r.uint64s(count));
        const start = file.position;
        values = ends.map((end, k) => {
          const from = k === 0 ? 0 : ends[k - 1]!;
          return numbers(start + 8 * from, end - from);
        });
        file.skip(8 * (ends.at(-1) ?? 0));
      } else values = await file.parse((r) => r.column(type, count));
      for (let k = 0; k < count; k++) block[k]![name] = values[k]!;
    }
    for (const row of block) rows.push(row);
  }
  return rows;
}

/** Pieces of a file parsed one at a time, each from a buffer read at its position and grown until the piece fits. */
class PieceReader {
  position = 0;
  private chunk = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  skip(bytes: number): void {
    this.position += bytes;
  }

  async parse<T>(piece: (reader: NativeReader) => T): Promise<T> {
    // Past the end: the file was cut inside numbers that were skipped.
    if (this.position >= this.size) throw new EndOfData();
    for (let want = 64 * 1024; ; want *= 4) {
      const end = Math.min(this.size, this.position + want);
      if (this.position < this.chunkStart || this.chunkStart + this.chunk.length < end) {
        this.chunk = Buffer.allocUnsafe(end - this.position);
        this.chunk = this.chunk.subarray(0, await readAt(this.handle, this.chunk, this.position));
        this.chunkStart = this.position;
      }
      const reader = new NativeReader(this.chunk.subarray(this.position - this.chunkStart));
      try {
        const value = piece(reader);
        this.position += reader.offset;
        return value;
      } catch (err) {
        if (!(err instanceof EndOfData) || end >= this.size) throw err;
      }
    }
  }
}
