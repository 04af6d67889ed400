/**
 * A batch read back from `predictions` (feed-sql.ts) → the core's input, and the scored batch →
 * the `shadow_scores` insert body, both RowBinary. The rows' leading fields arrive already in
 * the shadow row's binary layout; each shadow row is those bytes plus the challenger's fields: no
 * event is parsed, no text escaped, no object built per row. RowBinary is little-endian, as is
 * every platform chdb ships for, so the Float32 features are copied as they come.
 */

export interface StoredBatch {
  rows: number;
  /** Row-major `[rows, F]` in the challenger's column order. */
  values: Float32Array;
  /** Rows refused before the core, with the core's reason. */
  refused: Map<number, string>;
  /** The batch's bytes; row r's leading fields span `starts[r]` to `ends[r]`. */
  head: Buffer;
  starts: Uint32Array;
  ends: Uint32Array;
  /** The latest `ingested_at` (epoch ms) in the batch; NaN when it is empty. */
  lastIngestedAt: number;
}

const REASONS: Record<number, string> = { 1: 'missing', 2: 'wrong_type', 3: 'out_of_range' };

/** Leading fields: model, challenger, prediction id (String), event time (Int64), production version and prediction (String), score (Nullable(Float64)). */
const LEADING = ['s', 's', 's', 8, 's', 's', 'n'] as const;

class Truncated extends Error {}

/** The end of a RowBinary String (LEB128 length, then the bytes) starting at `at`. */
function skipString(buf: Buffer, at: number): number {
  let length = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[at++];
    if (byte === undefined || shift > 28) throw new Truncated();
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  return at + length;
}

function leadingEnd(buf: Buffer, start: number): number {
  let at = start;
  for (const field of LEADING) {
    if (field === 's') at = skipString(buf, at);
    else if (field === 'n') at += buf[at] === 0 ? 9 : 1;
    else at += field;
  }
  return at;
}

function invalid(row: number, what: string): Error {
  return new Error(`shadow batch row ${row}: ${what}`);
}

/**
 * Splits the batch query's RowBinary bytes: per row the leading fields, `ingested_at` (Int64
 * ms), F Float32 features and a refusal code (UInt8: 0 ok, 1 missing, 2 wrong type, 3 out of
 * range). Throws naming the row when the bytes end early or a code is unknown.
 */
export function readStoredBatch(bytes: Buffer, columns: number): StoredBatch {
  const tail = 8 + 4 * columns + 1;
  const starts: number[] = [];
  const ends: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    const row = starts.length;
    let end: number;
    try {
      end = leadingEnd(bytes, at);
    } catch {
      throw invalid(row, 'the leading fields end early');
    }
    if (end + tail > bytes.length)
      throw invalid(row, `the row does not hold ${columns} Float32 features and a code`);
    starts.push(at);
    ends.push(end);
    at = end + tail;
  }
  const rows = starts.length;
  const values = new Float32Array(rows * columns);
  const out = new Uint8Array(values.buffer);
  const refused = new Map<number, string>();
  let lastIngestedAt = Number.NaN;
  for (let r = 0; r < rows; r++) {
    const end = ends[r] as number;
    out.set(bytes.subarray(end + 8, end + 8 + 4 * columns), r * 4 * columns);
    const code = bytes[end + tail - 1] as number;
    if (code !== 0) {
      const reason = REASONS[code];
      if (reason === undefined) throw invalid(r, `unknown refusal code ${code}`);
      refused.set(r, reason);
    }
    const at = bytes.readUInt32LE(end) + bytes.readInt32LE(end + 4) * 2 ** 32;
    if (!(at <= lastIngestedAt)) lastIngestedAt = at;
  }
  return {
    rows,
    values,
    refused,
    head: bytes,
    starts: Uint32Array.from(starts),
    ends: Uint32Array.from(ends),
    lastIngestedAt,
  };
}

/** The challenger's side of each row. */
export interface ScoredRows {
  /** Label per row; '' where the row failed. */
  labels: readonly (string | null)[];
  /** Score per row; NaN or non-finite is stored as null. */
  scores: ArrayLike<number>;
  /** Failure reason per failed row. */
  failed: ReadonlyMap<number, string>;
}

/** A RowBinary String. */
function binaryString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length: number[] = [];
  let n = bytes.length;
  do {
    length.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from(length), bytes]);
}

/** RowBinary rows for `shadow_scores`, in its column order (SHADOW_SCORES_STRUCTURE). */
export function encodeShadowRows(batch: StoredBatch, scored: ScoredRows, scoredAt: number): Buffer {
  const encoded = new Map<string, Buffer>();
  const field = (text: string) => {
    let e = encoded.get(text);
    if (e === undefined) encoded.set(text, (e = binaryString(text)));
    return e;
  };
  const empty = field('');
  const labels: Buffer[] = new Array<Buffer>(batch.rows);
  const failures: Buffer[] = new Array<Buffer>(batch.rows);
  let size = 0;
  for (let r = 0; r < batch.rows; r++) {
    const reason = scored.failed.get(r);
    const score = scored.scores[r] as number;
    labels[r] = reason === undefined ? field(scored.labels[r] ?? '') : empty;
    failures[r] = reason === undefined ? empty : field(reason);
    const scoreBytes = reason === undefined && Number.isFinite(score) ? 9 : 1;
    size += (batch.ends[r] as number) - (batch.starts[r] as number);
    size += (labels[r] as Buffer).length + scoreBytes + 1 + (failures[r] as Buffer).length + 8;
  }
  const out = Buffer.allocUnsafe(size);
  const stamp = Buffer.alloc(8);
  stamp.writeBigInt64LE(BigInt(Math.round(scoredAt)));
  let at = 0;
  for (let r = 0; r < batch.rows; r++) {
    const failed = scored.failed.has(r);
    const score = scored.scores[r] as number;
    at += batch.head.copy(out, at, batch.starts[r], batch.ends[r]);
    at += (labels[r] as Buffer).copy(out, at);
    if (!failed && Number.isFinite(score)) {
      out[at] = 0;
      at = out.writeDoubleLE(score, at + 1);
    } else out[at++] = 1;
    out[at++] = failed ? 1 : 0;
    at += (failures[r] as Buffer).copy(out, at);
    at += stamp.copy(out, at);
  }
  return out;
}
