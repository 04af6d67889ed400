/**
 * A numeric matrix → the graph's float `[N, F]` input, under the same rule as rows: a row holding
 * NaN, ±Infinity, a value beyond float32 or a category index out of range is left out and
 * reported. A row-major Float32Array with nothing to refuse is not re-encoded: it is copied once,
 * as it is sent to the session's worker thread.
 */
import { InferenceError } from './errors.js';
import { failure, type RowFailure } from './failures.js';
import { checkBatchSize, numberProblem, type EncodedBatch } from './encode-rows.js';
import type { FeatureSpec } from './metadata.js';

/**
 * A matrix of graph columns (in metadata column order), string features as category indices.
 * A row-major Float32Array is copied to the session's worker as it is sent: the caller may reuse it
 * once `scoreMatrix` has returned its promise.
 */
export interface FeatureMatrix {
  readonly values: Float32Array | Float64Array;
  readonly rows: number;
  /**
   * `row-major`: row r's features at `[r * F, (r + 1) * F)`, the graph's own layout.
   * `column-major`: column j's values at `[j * rows, (j + 1) * rows)`, as columnar stores hold them.
   */
  readonly layout: 'row-major' | 'column-major';
}

function cellProblem(row: number, column: FeatureSpec, raw: number): RowFailure | null {
  const problem = numberProblem(row, column.name, raw);
  if (problem !== null || column.categories === undefined) return problem;
  if (Number.isInteger(raw) && raw >= 0 && raw < column.categories.length) return null;
  return failure(
    row,
    column.name,
    'unknown_category',
    `category index ${raw} is not in [0, ${column.categories.length})`,
  );
}

function toRowMajor(matrix: FeatureMatrix, f: number): Float32Array {
  const { values, rows, layout } = matrix;
  if (layout === 'row-major') return values instanceof Float32Array ? values : Float32Array.from(values);
  const out = new Float32Array(rows * f);
  // Rows outer: F sequential read streams and one sequential write stream, kinder to the cache.
  for (let r = 0, w = 0; r < rows; r++) {
    for (let j = 0; j < f; j++) out[w++] = values[j * rows + r] as number;
  }
  return out;
}

/** Throws `INPUT_SHAPE` when the length is not rows × F; refuses bad rows alone otherwise. */
export function encodeMatrix(matrix: FeatureMatrix, columns: readonly FeatureSpec[]): EncodedBatch {
  const f = columns.length;
  const { rows } = matrix;
  if (!Number.isSafeInteger(rows) || rows < 0 || matrix.values.length !== rows * f) {
    throw new InferenceError(
      'INPUT_SHAPE',
      `matrix of ${matrix.values.length} values is not ${rows} rows × ${f} features`,
    );
  }
  checkBatchSize(rows, f);
  const hasCategories = columns.some((c) => c.categories !== undefined);
  let input = toRowMajor(matrix, f);
  const failures: RowFailure[] = [];
  let source: Int32Array | null = null;
  let written = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * f;
    let bad: RowFailure | null = null;
    for (let j = 0; j < f; j++) {
      const value = input[base + j] as number;
      if (Number.isFinite(value) && !hasCategories) continue;
      // Checked against the caller's value, so a float64 beyond float32 is named as such.
      const raw =
        matrix.layout === 'row-major'
          ? (matrix.values[base + j] as number)
          : (matrix.values[j * rows + r] as number);
      bad = cellProblem(r, columns[j] as FeatureSpec, raw);
      if (bad !== null) break;
    }
    if (bad !== null) {
      failures.push(bad);
      if (source === null) {
        // Good rows are moved up over bad ones: never in the caller's own array.
        if (input === matrix.values) input = input.slice();
        source = new Int32Array(rows);
        for (let i = 0; i < r; i++) source[i] = i;
      }
      continue;
    }
    if (source !== null) {
      source[written] = r;
      if (written !== r) input.copyWithin(written * f, base, base + f);
    }
    written++;
  }
  return { values: input, rows: written, source, failures };
}
