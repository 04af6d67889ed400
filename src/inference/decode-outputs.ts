/**
 * The graph's label and probability tensors → per-row labels (strings of the declared class
 * set) and scores, placed back at each row's position in the caller's batch.
 */
import type { OutputTensor as Tensor } from './worker-session.js';
import { InferenceError } from './errors.js';
import { failure, show, type RowFailure } from './failures.js';
import type { ModelMetadata } from './metadata.js';
import type { EncodedBatch } from './encode-rows.js';

/** One batch's answer; every array is as long as the batch, in the batch's row order. */
export interface ScoreResult {
  /** Rows in the batch. */
  readonly rows: number;
  /** Rows scored (rows − failures.length). */
  readonly scored: number;
  /** The model's label per row, one of the metadata's classes; null where the row failed, and for a regression model. */
  readonly labels: (string | null)[];
  /**
   * Binary: the positive class's probability. Multiclass: the positive class's when the metadata
   * names one, else the probability of the row's label. Regression: the predicted value. NaN
   * where the row failed.
   */
  readonly scores: Float64Array;
  /** Row-major `[rows, classes]`, columns in the metadata's class order; NaN where the row failed; empty for regression. */
  readonly probabilities: Float32Array | Float64Array;
  /** Rows not scored, in row order, one per row. */
  readonly failures: RowFailure[];
}

function checkDims(label: Tensor | null, probabilities: Tensor | null, n: number, c: number): void {
  const dims = probabilities?.dims ?? [n, c];
  if (dims.length !== 2 || dims[0] !== n || dims[1] !== c) {
    throw new InferenceError(
      'GRAPH_MISMATCH',
      `probability output has dims [${dims.join(', ')}], expected [${n}, ${c}]`,
    );
  }
  if (label !== null && label.size !== n) {
    throw new InferenceError('GRAPH_MISMATCH', `label output has ${label.size} values for ${n} rows`);
  }
}

function labelFailure(row: number, label: Tensor | null, i: number, classes: number): RowFailure {
  const value = label === null ? '?' : show((label.data as ArrayLike<unknown>)[i]);
  return failure(
    row,
    null,
    'label_not_in_classes',
    `the model answered label ${value}, not one of ${classes} classes`,
  );
}

/** Combines the graph's outputs for `batch` into the caller's row order. */
export function decodeOutputs(
  metadata: ModelMetadata,
  indexLabels: (label: Tensor, n: number) => Int32Array,
  batch: EncodedBatch,
  total: number,
  label: Tensor | null,
  probabilities: Tensor | null,
): ScoreResult {
  const { classes } = metadata;
  const c = classes.length;
  const n = batch.rows;
  checkDims(label, probabilities, n, c);
  const raw = (probabilities?.data ?? new Float32Array(0)) as Float32Array | Float64Array;
  const source = batch.source;
  const direct = source === null;
  const probs = direct
    ? raw
    : new (raw instanceof Float64Array ? Float64Array : Float32Array)(total * c).fill(NaN);
  const scores = new Float64Array(total);
  if (!direct) scores.fill(NaN);
  const labels = new Array<string | null>(total).fill(null);
  const positive = metadata.positiveClass === null ? -1 : classes.indexOf(metadata.positiveClass);
  const index = label === null ? new Int32Array(0) : indexLabels(label, n);
  const outputFailures: RowFailure[] = [];
  for (let i = 0; i < n; i++) {
    const row = direct ? i : (source[i] as number);
    const k = index[i] as number;
    if (k < 0) {
      outputFailures.push(labelFailure(row, label, i, c));
      if (direct) for (let j = 0; j < c; j++) probs[i * c + j] = NaN;
      scores[row] = NaN;
      continue;
    }
    labels[row] = classes[k] as string;
    if (!direct) for (let j = 0; j < c; j++) probs[row * c + j] = raw[i * c + j] as number;
    scores[row] = raw[i * c + (positive >= 0 ? positive : k)] as number;
  }
  const failures =
    outputFailures.length === 0
      ? batch.failures
      : [...batch.failures, ...outputFailures].sort((a, b) => a.row - b.row);
  return { rows: total, scored: n - outputFailures.length, labels, scores, probabilities: probs, failures };
}

/** A regression model's value output for `batch`, in the caller's row order. */
export function decodeValues(batch: EncodedBatch, total: number, value: Tensor | null): ScoreResult {
  const n = batch.rows;
  if (value !== null && value.size !== n) {
    throw new InferenceError('GRAPH_MISMATCH', `value output has ${value.size} values for ${n} rows`);
  }
  const raw = (value?.data ?? new Float32Array(0)) as Float32Array | Float64Array;
  const source = batch.source;
  const scores = new Float64Array(total);
  if (source !== null) scores.fill(NaN);
  for (let i = 0; i < n; i++) scores[source === null ? i : (source[i] as number)] = raw[i] as number;
  return {
    rows: total,
    scored: n,
    labels: new Array<string | null>(total).fill(null),
    scores,
    probabilities: new Float32Array(0),
    failures: batch.failures,
  };
}
