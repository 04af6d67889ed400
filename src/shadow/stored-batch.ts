/**
 * A batch read back from `predictions` (feed-sql.ts) → the core's input, and the scored batch →
 * the `shadow_scores` insert body. The rows' leading fields arrive as TabSeparated text rendered by
 * the engine; each shadow row is that text plus the challenger's fields: no event is parsed and
 * no object built per row. Float32 bytes are little-endian, as on every platform chdb ships for.
 */

export interface StoredBatch {
  rows: number;
  /** Row-major `[rows, F]` in the challenger's column order. */
  values: Float32Array;
  /** Rows refused before the core, with the core's reason. */
  refused: Map<number, string>;
  /** The batch's text; row r's leading fields span `starts[r]` to `ends[r]`. */
  head: Buffer;
  starts: Uint32Array;
  ends: Uint32Array;
}

const REASONS: Record<number, string> = { 0x31: 'missing', 0x32: 'wrong_type' };

/** Hex digit values by character code; 255 for anything else. */
const HEX = new Uint8Array(256).fill(255);
for (let d = 0; d < 16; d++) {
  HEX[d.toString(16).charCodeAt(0)] = d;
  HEX[d.toString(16).toUpperCase().charCodeAt(0)] = d;
}

function invalid(row: number, what: string): Error {
  return new Error(`shadow batch row ${row}: ${what}`);
}

/**
 * Splits the batch query's TabSeparated text. Each line ends with `\t<8F hex>\t<d>`; what comes
 * before is the row's leading fields, escaped as the engine reads them back. Throws naming the
 * row when a line does not have that shape.
 */
export function readStoredBatch(text: Buffer, columns: number): StoredBatch {
  const tail = 8 * columns + 3;
  let rows = 0;
  for (let at = text.indexOf(0x0a); at >= 0; at = text.indexOf(0x0a, at + 1)) rows++;
  const values = new Float32Array(rows * columns);
  const bytes = new Uint8Array(values.buffer);
  const refused = new Map<number, string>();
  const starts = new Uint32Array(rows);
  const ends = new Uint32Array(rows);
  let start = 0;
  for (let r = 0; r < rows; r++) {
    const end = text.indexOf(0x0a, start);
    const x = end - tail;
    if (x <= start || text[x] !== 0x09 || text[end - 2] !== 0x09)
      throw invalid(r, `the line does not end in ${columns} hex Float32 features and a code`);
    for (let b = 0; b < 4 * columns; b++) {
      const hi = HEX[text[x + 1 + 2 * b] as number] as number;
      const lo = HEX[text[x + 2 + 2 * b] as number] as number;
      if (hi === 255 || lo === 255) throw invalid(r, 'features are not hex');
      bytes[r * 4 * columns + b] = (hi << 4) | lo;
    }
    const reason = REASONS[text[end - 1] as number];
    if (reason !== undefined) refused.set(r, reason);
    starts[r] = start;
    ends[r] = x;
    start = end + 1;
  }
  return { rows, values, refused, head: text, starts, ends };
}

/** TabSeparated escaping of a text field. */
function tsv(text: string): string {
  return text.replace(/[\\\t\n\r\0]/g, (c) => TSV_ESCAPES[c] as string);
}
const TSV_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
};

/** `YYYY-MM-DD hh:mm:ss.sss` (UTC), as the engine reads a DateTime64(3) from text. */
function dateTimeText(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
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

/** TabSeparated lines for `shadow_scores`, in its column order (SHADOW_SCORES_STRUCTURE). */
export function encodeShadowRows(batch: StoredBatch, scored: ScoredRows, scoredAt: number): Buffer {
  const escaped = new Map<string, string>();
  const field = (text: string) => {
    let e = escaped.get(text);
    if (e === undefined) escaped.set(text, (e = tsv(text)));
    return e;
  };
  const tail = `\t${dateTimeText(scoredAt)}\n`;
  const parts: string[] = [];
  let size = 0;
  for (let r = 0; r < batch.rows; r++) {
    const reason = scored.failed.get(r);
    const score = scored.scores[r] as number;
    const fields =
      reason !== undefined
        ? `\t\t\\N\ttrue\t${field(reason)}${tail}`
        : `\t${field(scored.labels[r] ?? '')}\t${Number.isFinite(score) ? score : '\\N'}\tfalse\t${tail}`;
    parts.push(fields);
    size += (batch.ends[r] as number) - (batch.starts[r] as number) + Buffer.byteLength(fields);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let r = 0; r < batch.rows; r++) {
    at += batch.head.copy(out, at, batch.starts[r], batch.ends[r]);
    at += out.write(parts[r] as string, at);
  }
  return out;
}
