/**
 * NannyML 0.13.1's calibration decision (`nannyml.calibration.needs_calibration`): no calibration
 * when the reference holds one class or its ROC AUC exceeds 0.999; otherwise isotonic calibrators
 * are fitted on 10 stratified 90/10 folds (random_state 42), the test folds' scores are pooled,
 * and calibration is used when it lowers the expected calibration error over equal-count bins.
 *
 * One deliberate difference: NannyML sorts scores for the bins with NumPy's default (unstable)
 * argsort, whose order among equal scores depends on the CPU's sort kernel; here equal scores keep
 * their pooled order (a stable sort), so the decision is the same on every machine. See README.md.
 */
import { fitIsotonic, predictIsotonic } from './isotonic.js';
import { stratifiedShuffleSplit } from './stratified-split.js';

export interface CalibrationDecision {
  calibrate: boolean;
  /** Why: `single_class`, `separable` (ROC AUC > 0.999), `too_few_rows`, or `ece`. */
  reason: 'single_class' | 'separable' | 'too_few_rows' | 'ece';
  /** Pooled test-fold ECE before and after calibration (reason `ece`), else null. */
  eceBefore: number | null;
  eceAfter: number | null;
}

/** @default 10 */
export const ECE_BINS = 10;

/** NannyML's `_get_bin_index_edges`: equal-width index bins, the last one taking the remainder. */
export function binIndexEdges(length: number, binCount = ECE_BINS): [number, number][] | undefined {
  let bins = binCount;
  if (length <= 2 * bins) {
    bins = Math.floor(length / 2);
    if (bins < 2) return undefined;
  }
  const width = Math.floor(length / bins);
  const edges: number[] = [];
  for (let e = 0; e <= length; e += width) edges.push(e);
  edges[edges.length - 1] = length;
  return edges.slice(0, -1).map((left, i) => [left, edges[i + 1]!]);
}

/** Expected calibration error over index bins of the scores sorted ascending (stable). */
export function expectedCalibrationError(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
  edges: [number, number][],
): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]! || a - b);
  let total = 0;
  for (const [left, right] of edges) {
    let sumP = 0;
    let sumY = 0;
    for (let k = left; k < right; k++) {
      sumP += scores[order[k]!]!;
      sumY += labels[order[k]!]!;
    }
    const size = right - left;
    total += (size / n) * Math.abs(sumP / size - sumY / size);
  }
  return total;
}

/** ROC AUC with ties counted half (scikit-learn's `roc_auc_score`), from mid-ranks. */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The decision for 0/1 `labels` and finite `scores` of the reference rows, in reference order. */
export function needsCalibration(labels: ArrayLike<number>, scores: ArrayLike<number>): CalibrationDecision {
  const steps = decide(labels, scores);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * The same decision, handing the event loop back between folds (each fold is one isotonic fit,
 * under a second on a few hundred thousand rows), so HTTP requests and Kafka heartbeats go on.
 */
export async function needsCalibrationYielding(
  labels: ArrayLike<number>,
  scores: ArrayLike<number>,
): Promise<CalibrationDecision> {
  const steps = decide(labels, scores);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The decision, pausing (`yield`) after each costly step. */
function* decide(labels: ArrayLike<number>, scores: ArrayLike<number>): Generator<void, CalibrationDecision> {
  const none = (reason: CalibrationDecision['reason']): CalibrationDecision => ({
    calibrate: false,
    reason,
    eceBefore: null,
    eceAfter: null,
  });
  if (new Set(Array.from(labels)).size <= 1) return none('single_class');
  if (rocAuc(labels, scores) > 0.999) return none('separable');
  yield;
  const folds = stratifiedShuffleSplit(labels);
  if (!folds.ok) return none('too_few_rows');
  yield;
  const pooledLabels: number[] = [];
  const pooledScores: number[] = [];
  const pooledCalibrated: number[] = [];
  for (const { train, test } of folds.splits) {
    const model = fitIsotonic(
      train.map((i) => scores[i]!),
      train.map((i) => labels[i]!),
    );
    for (const i of test) {
      pooledLabels.push(labels[i]!);
      pooledScores.push(scores[i]!);
      pooledCalibrated.push(predictIsotonic(model, scores[i]!));
    }
    yield;
  }
  const edges = binIndexEdges(pooledScores.length);
  if (!edges) return none('too_few_rows');
  const eceBefore = expectedCalibrationError(pooledLabels, pooledScores, edges);
  yield;
  const eceAfter = expectedCalibrationError(pooledLabels, pooledCalibrated, edges);
  return { calibrate: eceBefore > eceAfter, reason: 'ece', eceBefore, eceAfter };
}
