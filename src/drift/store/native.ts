/**
 * A reader for ClickHouse's Native format, for the few column types drift reads. Sorted samples
 * are large (8 bytes a value) and Native carries an Array(Float64) as one contiguous block that
 * becomes a Float64Array with one copy; RowBinary and JSON cost a call per element on the
 * engine's side (measured 5-10x slower for 100 × 1M values).
 */
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClickHouseSettings } from '@clickhouse/client';
import type { Database } from '../../platform/clickhouse/index.js';
import { processExists } from '../../platform/processes.js';

export type NativeValue = number | string | Float64Array | string[] | number[];

/** The data ended inside a value: a truncated result, or a piece of a file read too short (native-file.ts). */
export class EndOfData extends Error {
  constructor() {
    super('Native: unexpected end of data');
  }
}

export class NativeReader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) throw new EndOfData();
  }

  varUInt(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buf[this.offset++];
      if (byte === undefined) throw new EndOfData();
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return result;
      shift += 7;
    }
  }

  string(): string {
    const length = this.varUInt();
    this.need(length);
    const text = this.buf.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return text;
  }

  /** Little-endian unsigned 64-bit values as numbers (counts and offsets stay far below 2^53). */
  uint64s(count: number): number[] {
    this.need(count * 8);
    const out = new Array<number>(count);
    for (let k = 0; k < count; k++) {
      out[k] = Number(this.buf.readBigUInt64LE(this.offset));
      this.offset += 8;
    }
    return out;
  }

  /**
   * A view on the response when the floats are 8-byte aligned (queries put a large array first,
   * and `readNativeFile` aligns the first one), else a copy. A view keeps the response buffer alive
   * while it is used. The copy of a shared response is shared too: its arrays go to worker threads.
   */
  float64s(count: number): Float64Array {
    this.need(count * 8);
    const at = this.buf.byteOffset + this.offset;
    let out: Float64Array;
    if (at % 8 === 0 && count > 0) out = new Float64Array(this.buf.buffer, at, count);
    else {
      const bytes = count * 8;
      const shared = this.buf.buffer instanceof SharedArrayBuffer;
      out = new Float64Array(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
      new Uint8Array(out.buffer).set(this.buf.subarray(this.offset, this.offset + bytes));
    }
    this.offset += count * 8;
    return out;
  }

  column(type: string, rows: number): NativeValue[] {
    switch (type) {
      case 'UInt8':
        return Array.from(this.bytes(rows));
      case 'UInt64':
        return this.uint64s(rows);
      case 'Int64': {
        this.need(rows * 8);
        const out = new Array<number>(rows);
        for (let k = 0; k < rows; k++) out[k] = Number(this.buf.readBigInt64LE(this.offset + 8 * k));
        this.offset += 8 * rows;
        return out;
      }
      case 'Float64':
        return Array.from(this.float64s(rows));
      case 'String':
        return Array.from({ length: rows }, () => this.string());
      case 'Array(Float64)': {
        const ends = this.uint64s(rows);
        return ends.map((end, k) => this.float64s(end - (k === 0 ? 0 : ends[k - 1]!)));
      }
      case 'Array(String)': {
        const ends = this.uint64s(rows);
        return ends.map((end, k) =>
          Array.from({ length: end - (k === 0 ? 0 : ends[k - 1]!) }, () => this.string()),
        );
      }
      case 'Array(UInt64)': {
        const ends = this.uint64s(rows);
        return ends.map((end, k) => this.uint64s(end - (k === 0 ? 0 : ends[k - 1]!)));
      }
      default:
        throw new Error(`Native: column type ${type} is not supported here; cast it in the query`);
    }
  }

  private bytes(count: number): Buffer {
    this.need(count);
    const out = this.buf.subarray(this.offset, this.offset + count);
    this.offset += count;
    return out;
  }
}

/** Rows of a Native result as objects keyed by column name. */
export function parseNative(buf: Buffer): Record<string, NativeValue>[] {
  const reader = new NativeReader(buf);
  const rows: Record<string, NativeValue>[] = [];
  while (!reader.done) {
    const columnCount = reader.varUInt();
    const rowCount = reader.varUInt();
    const block = Array.from({ length: rowCount }, (): Record<string, NativeValue> => ({}));
    for (let c = 0; c < columnCount; c++) {
      const name = reader.string();
      const values = reader.column(reader.string(), rowCount);
      for (let r = 0; r < rowCount; r++) block[r]![name] = values[r]!;
    }
    for (const row of block) rows.push(row);
  }
  return rows;
}

/** Runs a SELECT (without FORMAT) and reads its result in Native format. */
export async function queryNative(
  db: Database,
  query: string,
  params: Record<string, unknown>,
  options: NativeOptions = {},
): Promise<Record<string, NativeValue>[]> {
  return parseNative(await execNative(db, query, params, options));
}

export interface NativeOptions {
  /**
   * Read the result into shared memory (a SharedArrayBuffer), so that its arrays can go to worker
   * threads without a copy (see walks/). @default false
   */
  shared?: boolean | undefined;
  /** Settings for this statement. @default none */
  settings?: ClickHouseSettings | undefined;
  /** The statement's id (to follow its progress in `system.processes`). @default a random id */
  queryId?: string | undefined;
}

/**
 * The Native bytes of a SELECT (without FORMAT).
 *
 * On the embedded engine the result is written to a file in memory (`/dev/shm` where there is one)
 * and read back, instead of being handed over as the query's result: measured on 20 columns ×
 * 1M sorted values (160 MB), 1.80 against 2.10 CPU s for the whole read, the difference being the
 * result hand-over (the engine grows and copies its result buffer, then chdb copies it again into
 * a JavaScript Buffer; the page faults of those fresh buffers are most of it). A server's result
 * streams as usual.
 */
export async function execNative(
  db: Database,
  query: string,
  params: Record<string, unknown>,
  options: NativeOptions = {},
): Promise<Buffer> {
  const base = {
    query_params: definedParams(params),
    query_id: options.queryId,
    clickhouse_settings: options.settings,
  };
  if (!db.embedded) {
    const result = await db.client.exec({ ...base, query: `${query}\nFORMAT Native` });
    const chunks: Buffer[] = [];
    for await (const chunk of result.stream) chunks.push(chunk as Buffer);
    return placeAligned(chunks, options.shared ?? false);
  }
  const file = await writeNativeFile(db, query, params, options);
  try {
    return await readNativeFile(file, options);
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Embedded engine only: writes the result of a SELECT (without FORMAT) to a new Native file in
 * memory and returns its path; the caller removes it. Another statement can read the same file
 * (`file(path, 'Native')`), so one result can reach both JavaScript and a table.
 */
export async function writeNativeFile(
  db: Database,
  query: string,
  params: Record<string, unknown>,
  options: NativeOptions = {},
): Promise<string> {
  const file = path.join(await spoolDir(), `modelwatch-native-${process.pid}-${randomUUID()}.bin`);
  try {
    await db.client.command({
      query: `INSERT INTO FUNCTION file(${sqlString(file)}, 'Native') ${query}`,
      query_params: definedParams(params),
      query_id: options.queryId,
      clickhouse_settings: options.settings,
    });
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  return file;
}

/** A ClickHouse string literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

let spool: Promise<string> | undefined;

/**
 * Memory-backed `/dev/shm` when this system has a writable one, else the temporary directory.
 * Resolving it first clears the files of processes that died mid-read (below).
 */
function spoolDir(): Promise<string> {
  spool ??= access('/dev/shm', constants.W_OK)
    .then(
      () => '/dev/shm',
      () => tmpdir(),
    )
    .then(async (dir) => {
      await removeStaleNativeFiles(dir).catch(() => 0);
      return dir;
    });
  return spool;
}

const NATIVE_FILE = /^modelwatch-native-(\d+)-[0-9a-f-]+\.bin$/;

/** Older than this, a file of a process that no longer exists is not being written by anyone. */
export const STALE_NATIVE_FILE_MS = 10 * 60_000;

/**
 * Removes result files left in `dir` by processes killed mid-read (SIGKILL, Ctrl-C): in
 * `/dev/shm` each holds memory until reboot, up to ~800 MB for a 100-column window. A file is
 * removed only when its process is gone and it is older than STALE_NATIVE_FILE_MS, so a process
 * in another PID namespace sharing the directory keeps its running reads. Returns the count.
 */
export async function removeStaleNativeFiles(dir: string, now = Date.now()): Promise<number> {
  let removed = 0;
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = NATIVE_FILE.exec(name)?.[1];
    if (pid === undefined || processExists(Number(pid))) continue;
    const file = path.join(dir, name);
    const info = await stat(file).catch(() => undefined);
    if (!info || now - info.mtimeMs < STALE_NATIVE_FILE_MS) continue;
    // Someone else's file (permissions): not ours to clear, and never a reason to fail a read.
    const gone = await rm(file, { force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed++;
  }
  return removed;
}

/**
 * Bytes a read of a Native file asks for at once; up to four run at a time, on libuv's threads.
 * @default 32 MiB
 */
export const NATIVE_READ_CHUNK = 32 * 1024 * 1024;

/**
 * The whole file in one Buffer (`readFile` stops at 2 GiB; a reference of many columns can be
 * larger). A statement that wrote no row may leave no file: that is an empty result.
 *
 * The file is read in chunks, four at a time: most of a read is the page faults of the fresh
 * buffer (800 MB of sorted values took 0.6-0.8 s into fresh memory against 0.23-0.3 s into memory
 * already touched), and the chunks fault their pages in on every core instead of one.
 */
export async function readNativeFile(
  file: string,
  options: NativeOptions = {},
  chunk: number = NATIVE_READ_CHUNK,
): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(size, HEADER_PEEK));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const buf = alignedBuffer(head.subarray(0, bytesRead), size, options.shared ?? false);
    const starts = Array.from({ length: Math.ceil(size / chunk) }, (_, k) => k * chunk);
    const lengths = await mapConcurrently(starts, 4, (start) =>
      readFully(handle, buf, start, Math.min(chunk, size - start)),
    );
    // A file cut short (it never is while its statement has finished) leaves its tail unread.
    const read = lengths.findIndex((length, k) => length < Math.min(chunk, size - starts[k]!));
    return read === -1 ? buf : buf.subarray(0, starts[read]! + lengths[read]!);
  } finally {
    await handle.close();
  }
}

/** Bytes of a Native file's first block before its first column's data, read at most. */
const HEADER_PEEK = 4096;

/**
 * A fresh buffer of `size` bytes for a Native result whose first bytes are `head`, placed so that
 * its first column, when an Array(Float64), has its numbers 8-byte aligned: then they are views,
 * not copies, and in shared memory they reach the walk pool's threads. Where they start depends
 * on the names and on the row count's varint (a stored reference's columns are read `numbers`
 * first; a result of 128 rows or more would otherwise have shifted a window's `values` by one
 * byte). A fresh allocation (not the pool) starts aligned; other layouts need no pad.
 */
function alignedBuffer(head: Buffer, size: number, shared: boolean): Buffer {
  const start = firstFloatsAt(head);
  const pad = start === undefined ? 0 : (8 - (start % 8)) % 8;
  const whole = shared ? Buffer.from(new SharedArrayBuffer(size + pad)) : Buffer.allocUnsafeSlow(size + pad);
  return whole.subarray(pad);
}

/** Offset of the numbers of the first column of the first block, if it is an Array(Float64) and its header is all in `head`. */
export function firstFloatsAt(head: Buffer): number | undefined {
  try {
    const reader = new NativeReader(head);
    reader.varUInt();
    const rows = reader.varUInt();
    reader.string();
    if (reader.string() !== 'Array(Float64)') return undefined;
    const at = reader.offset + rows * 8;
    return reader.offset <= head.length ? at : undefined;
  } catch {
    return undefined; // a header longer than the peek (or no block at all): no pad
  }
}

/** Reads `length` bytes at `start` into `buf` at the same offset; fewer only at the end of the file. */
async function readFully(handle: FileHandle, buf: Buffer, start: number, length: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, start + done, length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await work(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** The first `bytes` bytes of the chunks (fewer if they hold fewer). */
function leading(chunks: readonly Buffer[], bytes: number): Buffer {
  const taken: Buffer[] = [];
  let length = 0;
  for (const c of chunks) {
    if (length >= bytes) break;
    taken.push(c);
    length += c.length;
  }
  return Buffer.concat(taken).subarray(0, bytes);
}

/** A server's response in one fresh buffer (shared if asked), placed as `readNativeFile` places a file. */
export function placeAligned(chunks: readonly Buffer[], shared: boolean): Buffer {
  const size = chunks.reduce((sum, c) => sum + c.length, 0);
  const out = alignedBuffer(leading(chunks, HEADER_PEEK), size, shared);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Query parameters without the undefined ones (an optional filter that is not used). */
export function definedParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}
