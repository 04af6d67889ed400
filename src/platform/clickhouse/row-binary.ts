/**
 * Writes rows in ClickHouse's RowBinary format: each value in its column's binary layout, no
 * text to format in JavaScript nor to parse in the engine (numbers are their 8 bytes).
 * Little-endian, as RowBinary is.
 *
 * Rows are written one after another into slabs of memory and handed out as views of them: no
 * copy per row, and `joinRows` turns the rows of a batch back into a few contiguous runs (one
 * per slab) instead of copying thousands of small buffers (measured in the collectors' profile:
 * the per-row copy and `Buffer.concat` of the rows were ~7% of the ingest thread). A slab is
 * freed once no row of it is held.
 */
export class RowBinaryWriter {
  private slab: Buffer;
  private view: DataView;
  /** Where the row being written starts. */
  private start = 0;
  private at = 0;

  /** @param slabBytes memory taken at a time; a row larger than this gets a slab of its own size. */
  constructor(private readonly slabBytes = 1024 * 1024) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
    this.view = new DataView(this.slab.buffer, this.slab.byteOffset, this.slab.length);
  }

  /**
   * One row: what `write` writes, as a view of the slab. A row that threw half-way is written
   * over by the next one.
   */
  row(write: (row: this) => void): Buffer {
    this.at = this.start;
    write(this);
    const row = this.slab.subarray(this.start, this.at);
    this.start = this.at;
    return row;
  }

  /** LEB128, as RowBinary writes lengths and map sizes. */
  varUInt(value: number): void {
    this.ensure(10);
    this.at = writeVarUInt(this.slab, this.at, value);
  }

  /**
   * A size written after what it counts (a map's entries, counted while they are written): a
   * byte is kept for it now; `endCount` fills it in, moving the entries when it needs more.
   * @returns the place kept, relative to the row's start (the row may move to another slab).
   */
  beginCount(): number {
    this.ensure(1);
    this.at += 1;
    return this.at - 1 - this.start;
  }

  endCount(kept: number, count: number): void {
    if (count < 0x80) {
      this.slab[this.start + kept] = count;
      return;
    }
    const more = varUIntBytes(count) - 1;
    this.ensure(more);
    const at = this.start + kept;
    this.slab.copyWithin(at + 1 + more, at + 1, this.at);
    this.at += more;
    writeVarUInt(this.slab, at, count);
  }

  uint8(value: number): void {
    this.ensure(1);
    this.slab[this.at++] = value;
  }

  bool(value: boolean): void {
    this.uint8(value ? 1 : 0);
  }

  /** A whole number of the safe-integer range as Int64 (DateTime64 ticks, for one). */
  int64(value: number): void {
    this.ensure(8);
    const high = Math.floor(value / 2 ** 32);
    this.view.setUint32(this.at, value - high * 2 ** 32, true);
    this.view.setInt32(this.at + 4, high, true);
    this.at += 8;
  }

  float64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.at, value, true);
    this.at += 8;
  }

  /** Nullable(Float64): a null flag, then the value when there is one. */
  nullableFloat64(value: number | null | undefined): void {
    if (value === null || value === undefined) return this.uint8(1);
    this.uint8(0);
    this.float64(value);
  }

  /**
   * A String: its UTF-8 length, then its bytes. A lone surrogate becomes U+FFFD, as
   * `Buffer.from(text)` makes it. Short ASCII text (feature names, ids) is copied by a loop: a
   * call into the native encoder per name costs more than the copy.
   */
  string(text: string): void {
    const length = text.length;
    if (length <= SHORT) {
      this.ensure(1 + length);
      const start = this.at + 1;
      let i = 0;
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        this.slab[start + i] = code;
      }
      if (i === length) {
        this.slab[this.at] = length;
        this.at = start + length;
        return;
      }
    }
    const size = Buffer.byteLength(text, 'utf8');
    this.varUInt(size);
    this.ensure(size);
    this.at += this.slab.write(text, this.at, 'utf8');
  }

  /** Room for `more` bytes; when the slab is full, the row so far moves to a new one. */
  private ensure(more: number): void {
    if (this.at + more <= this.slab.length) return;
    const written = this.at - this.start;
    const slab = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, 2 * (written + more)));
    this.slab.copy(slab, 0, this.start, this.at);
    this.slab = slab;
    this.view = new DataView(slab.buffer, slab.byteOffset, slab.length);
    this.start = 0;
    this.at = written;
  }
}

/** Texts up to this many UTF-16 units take the ASCII loop (and their length is one LEB128 byte). */
const SHORT = 64;

/** Writes `value` as LEB128 at `at`; returns where it ends. */
export function writeVarUInt(bytes: Buffer, at: number, value: number): number {
  let n = value;
  let i = at;
  while (n >= 0x80) {
    bytes[i++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  bytes[i++] = n;
  return i;
}

export function varUIntBytes(value: number): number {
  let bytes = 1;
  for (let n = value; n >= 0x80; n = Math.floor(n / 128)) bytes += 1;
  return bytes;
}

/**
 * Rows as one insert body. Rows that lie next to each other in memory (a writer's rows, in the
 * order written) are taken as one run, so the copy is a few large ones rather than one per row.
 */
export function joinRows(rows: Iterable<Buffer>): Buffer {
  const runs: Buffer[] = [];
  let run: Buffer | undefined;
  let end = 0;
  for (const row of rows) {
    if (run !== undefined && row.buffer === run.buffer && row.byteOffset === end) {
      end += row.length;
      continue;
    }
    if (run !== undefined) runs.push(Buffer.from(run.buffer, run.byteOffset, end - run.byteOffset));
    run = row;
    end = row.byteOffset + row.length;
  }
  if (run !== undefined) runs.push(Buffer.from(run.buffer, run.byteOffset, end - run.byteOffset));
  return runs.length === 1 ? (runs[0] as Buffer) : Buffer.concat(runs);
}
