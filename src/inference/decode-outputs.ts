/**
 * The graph's label and probability tensors → per-row labels (strings of the declared class
 * set) and scores, placed back at each row's position in the caller's batch.
 */
import type { Tensor } from 'onnxruntime-node';
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
  /** The model's label per row, one of the metadata's classes; null where the row failed. */
  readonly labels: (string | null)[];
  /**
   * Binary: the positive class's probability. Multiclass: the positive class's when the metadata
   * names one, else the probability of the row's label. NaN where the row failed.
   */
  readonly scores: Float64Array;
  /** Row-major `[rows, classes]`, columns in the metadata's class order; NaN where the row failed. */
  readonly probabilities: Float32Array | Float64Array;
  /** Rows not scored, in row order, one per row. */
  readonly failures: RowFailure[];
}

type LabelLookup = (data: Tensor['data'], i: number) => string | undefined;

/** Maps the label tensor's values to the declared class strings without allocating per row. */
export function labelLookup(classes: readonly string[], type: Tensor['type']): LabelLookup {
  if (type === 'string') {
    const known = new Map(classes.map((c) => [c, c]));
    return (data, i) => known.get((data as string[])[i] as string);
  }
  const known = new Map<number, string>();
  for (const c of classes) if (/^-?\d+$/.test(c) && Number.isSafeInteger(Number(c))) known.set(Number(c), c);
  if (type === 'int64') return (data, i) => known.get(Number((data as BigInt64Array)[i]));
  return (data, i) => known.get((data as Int32Array)[i] as number);
}

function labelText(data: Tensor['data'], i: number): string {
  return show((data as ArrayLike<unknown>)[i]);
}

/** Combines the graph's outputs for `batch` into the caller's row order. */
export function decodeOutputs(
  metadata: ModelMetadata,
  lookup: LabelLookup,
  batch: EncodedBatch,
  total: number,
  label: Tensor | null,
  probabilities: Tensor | null,
): ScoreResult {
  const c = metadata.classes.length;
  const n = batch.rows;
  if (
    probabilities !== null &&
    (probabilities.dims.length !== 2 || probabilities.dims[0] !== n || probabilities.dims[1] !== c)
  ) {
    throw new InferenceError(
      'GRAPH_MISMATCH',
      `probability output has dims [${probabilities.dims.join(', ')}], expected [${n}, ${c}]`,
    );
  }
  if (label !== null && label.size !== n)
    throw new InferenceError('GRAPH_MISMATCH', `label output has ${label.size} values for ${n} rows`);
  const raw = (probabilities?.data ?? new Float32Array(0)) as Float32Array | Float64Array;
  const direct = batch.source === null;
  const probs = direct
    ? raw
    : new (raw instanceof Float64Array ? Float64Array : Float32Array)(total * c).fill(NaN);
  const scores = new Float64Array(total);
  const labels = new Array<string | null>(total).fill(null);
  if (!direct) scores.fill(NaN);
  const positive = metadata.positiveClass === null ? -1 : metadata.classes.indexOf(metadata.positiveClass);
  const classIndex = new Map(metadata.classes.map((k, i) => [k, i]));
  const outputFailures: RowFailure[] = [];
  for (let i = 0; i < n; i++) {
    const row = direct ? i : (batch.source?.[i] as number);
    const name = label === null ? undefined : lookup(label.data, i);
    if (name === undefined) {
      outputFailures.push(
        failure(
          row,
          null,
          'label_not_in_classes',
          `the model answered label ${label === null ? '?' : labelText(label.data, i)}, not one of ${metadata.classes.length} classes`,
        ),
      );
      if (direct) for (let k = 0; k < c; k++) probs[i * c + k] = NaN;
      scores[row] = NaN;
      continue;
    }
    labels[row] = name;
    if (!direct) for (let k = 0; k < c; k++) probs[row * c + k] = raw[i * c + k] as number;
    scores[row] = raw[i * c + (positive >= 0 ? positive : (classIndex.get(name) as number))] as number;
  }
  const failures =
    outputFailures.length === 0
      ? batch.failures
      : [...batch.failures, ...outputFailures].sort((a, b) => a.row - b.row);
  return { rows: total, scored: n - outputFailures.length, labels, scores, probabilities: probs, failures };
}
