/**
 * A batch read back from `predictions` (feed-sql.ts) → the core's input, and the scored batch →
 * the `shadow_scores` insert body. The rows' leading fields arrive as JSON already rendered by
 * the engine; each shadow row is that text, cut before its closing brace, plus the challenger's
 * fields: no event is parsed and no object built per row.
 */

/** The batch query's one row. */
export interface BatchRow {
  n: number;
  /** base64 of the rows' leading JSON (`{"model_id":…,"production_score":…}`), joined by '\n'. */
  head: string;
  /** Hex of the row-major Float32 matrix, little-endian. */
  x: string;
  /** One digit per row: 0 ok, 1 missing, 2 wrong type. */
  bad: string;
}

export interface StoredBatch {
  rows: number;
  /** Row-major `[rows, F]` in the challenger's column order. */
  values: Float32Array;
  /** Rows refused before the core, with the core's reason. */
  refused: Map<number, string>;
  /** The leading JSON of every row; row r spans `starts[r]` to `ends[r]` (its '}' excluded). */
  head: Buffer;
  starts: Uint32Array;
  ends: Uint32Array;
}

const REASONS: Record<string, string> = { '1': 'missing', '2': 'wrong_type' };

/** Decodes the batch row; throws when its parts disagree on the row count (never expected). */
export function readStoredBatch(row: BatchRow, columns: number): StoredBatch {
  const rows = Number(row.n);
  const bytes = Buffer.from(row.x, 'hex');
  if (bytes.length !== rows * columns * 4 || row.bad.length !== rows)
    throw new Error(
      `shadow batch of ${rows} rows has ${bytes.length} feature bytes and ${row.bad.length} codes`,
    );
  // A copy: the decoded Buffer may sit at an offset a Float32Array cannot start at.
  const values = new Float32Array(rows * columns);
  new Uint8Array(values.buffer).set(bytes);
  const refused = new Map<number, string>();
  for (let r = 0; r < rows; r++) {
    const reason = REASONS[row.bad[r] as string];
    if (reason !== undefined) refused.set(r, reason);
  }
  const head = Buffer.from(row.head, 'base64');
  const starts = new Uint32Array(rows);
  const ends = new Uint32Array(rows);
  let at = 0;
  for (let r = 0; r < rows; r++) {
    const newline = head.indexOf(0x0a, at);
    const end = newline < 0 ? head.length : newline;
    starts[r] = at;
    // Without the closing '}', so the challenger's fields can follow.
    ends[r] = end - 1;
    at = end + 1;
  }
  if (rows > 0 && at !== head.length + 1) throw new Error(`shadow batch of ${rows} rows has more heads`);
  return { rows, values, refused, head, starts, ends };
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

/** JSONEachRow lines for `shadow_scores` (its column order does not matter to the parser). */
export function encodeShadowRows(batch: StoredBatch, scored: ScoredRows, scoredAt: number): Buffer {
  const quoted = new Map<string, string>();
  const quote = (text: string) => {
    let q = quoted.get(text);
    if (q === undefined) quoted.set(text, (q = JSON.stringify(text)));
    return q;
  };
  const tail = `,"scored_at":${scoredAt}}\n`;
  const parts: string[] = [];
  let size = 0;
  for (let r = 0; r < batch.rows; r++) {
    const reason = scored.failed.get(r);
    const score = scored.scores[r] as number;
    const fields =
      reason !== undefined
        ? `,"label":"","score":null,"failed":true,"failure":${quote(reason)}${tail}`
        : `,"label":${quote(scored.labels[r] ?? '')},"score":${Number.isFinite(score) ? score : 'null'},"failed":false,"failure":""${tail}`;
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
