/**
 * Rows of features (objects) → the graph's float `[N, F]` input. A row with a missing,
 * wrongly typed or non-finite feature is left out of the input and reported; the rest are
 * scored (README "Bad rows").
 */
import { InferenceError } from './errors.js';
import { failure, show, typeName, type RowFailure } from './failures.js';
import type { FeatureSpec } from './metadata.js';
import { rowReader, type RowReader } from './row-reader.js';

/** A batch ready for the graph: `values` holds `rows` rows; `source[i]` is the batch row of input row i. */
export interface EncodedBatch {
  readonly values: Float32Array;
  readonly rows: number;
  /** null when every row was encoded, so input row i is batch row i. */
  readonly source: Int32Array | null;
  readonly failures: RowFailure[];
}

export const FLOAT32_MAX = 3.4028234663852886e38;

/** The largest batch, in values (rows × graph columns): 1 GiB of float32. Callers split bigger ones. */
export const MAX_BATCH_VALUES = 2 ** 28;

/** Throws `INPUT_SHAPE` before anything is allocated for a batch over `MAX_BATCH_VALUES`. */
export function checkBatchSize(rows: number, f: number): void {
  if (rows * f > MAX_BATCH_VALUES) {
    throw new InferenceError(
      'INPUT_SHAPE',
      `batch of ${rows} rows × ${f} features is over ${MAX_BATCH_VALUES} values; split it`,
    );
  }
}

/** Where a feature's value came from and why it is refused, or null when it is fine. */
export function numberProblem(row: number, feature: string, value: number): RowFailure | null {
  if (Number.isNaN(value)) return failure(row, feature, 'not_finite', 'not a finite number (NaN)');
  if (!Number.isFinite(value)) return failure(row, feature, 'not_finite', `not a finite number (${value})`);
  if (Math.abs(value) > FLOAT32_MAX)
    return failure(row, feature, 'out_of_range', `${value} is beyond the float32 range`);
  return null;
}

export function categoryIndex(columns: readonly FeatureSpec[]): (Map<string, number> | null)[] {
  return columns.map((c) =>
    c.categories === undefined ? null : new Map(c.categories.map((v, i) => [v, i])),
  );
}

function cellProblem(
  row: number,
  column: FeatureSpec,
  categories: Map<string, number> | null,
  value: unknown,
): RowFailure {
  if (value === undefined || value === null) return failure(row, column.name, 'missing', 'missing');
  if (categories !== null) {
    if (typeof value !== 'string' && typeof value !== 'boolean') {
      return failure(row, column.name, 'wrong_type', `expected a string, got ${typeName(value)}`);
    }
    return failure(
      row,
      column.name,
      'unknown_category',
      `${show(String(value))} is not one of its ${categories.size} categories`,
    );
  }
  if (typeof value === 'number') {
    return numberProblem(row, column.name, value) ?? failure(row, column.name, 'not_finite', 'not finite');
  }
  return failure(row, column.name, 'wrong_type', `expected a number, got ${typeName(value)} ${show(value)}`);
}

/** Builds, once per model, the encoder of its rows. */
export function rowEncoder(columns: readonly FeatureSpec[]): (rows: readonly unknown[]) => EncodedBatch {
  const categories = categoryIndex(columns);
  const read = rowReader(columns, categories);
  return (rows) => encodeRows(rows, columns, categories, read);
}

/** Encodes `rows` in `columns` order; never throws on a row's content. */
export function encodeRows(
  rows: readonly unknown[],
  columns: readonly FeatureSpec[],
  categories = categoryIndex(columns),
  read: RowReader = rowReader(columns, categories),
): EncodedBatch {
  const f = columns.length;
  checkBatchSize(rows.length, f);
  const values = new Float32Array(rows.length * f);
  const failures: RowFailure[] = [];
  let source: Int32Array | null = null;
  let written = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      failures.push(
        failure(r, null, 'not_an_object', `expected an object of features, got ${typeName(row)}`),
      );
      source ??= identity(r, rows.length);
      continue;
    }
    const record = row as Record<string, unknown>;
    const bad = read(record, values, written * f);
    if (bad >= 0) {
      const column = columns[bad] as FeatureSpec;
      // An inherited property (`toString`) is not a value the row was sent with.
      const value = Object.hasOwn(record, column.name) ? record[column.name] : undefined;
      failures.push(cellProblem(r, column, categories[bad] ?? null, value));
      source ??= identity(r, rows.length);
      continue;
    }
    if (source !== null) source[written] = r;
    written++;
  }
  return { values, rows: written, source, failures };
}

/** The source map once the first row fails: rows before it map to themselves. */
function identity(upTo: number, capacity: number): Int32Array {
  const source = new Int32Array(capacity);
  for (let i = 0; i < upTo; i++) source[i] = i;
  return source;
}
