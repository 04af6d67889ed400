/**
 * scikit-learn's `StratifiedShuffleSplit(n_splits, test_size, random_state)` for 0/1 targets,
 * draw for draw (`_iter_indices` and `_approximate_mode`), so the folds NannyML's calibration
 * check uses are the same folds here.
 */
import { RandomState } from './random-state.js';

export interface Split {
  train: number[];
  test: number[];
}

export interface SplitOptions {
  /** @default 10 */
  splits?: number;
  /** Share of rows in each test fold. @default 0.1 */
  testSize?: number;
  /** @default 42 */
  seed?: number;
}

/** Why no split can be drawn (scikit-learn raises), or the splits. */
export type SplitResult = { ok: true; splits: Split[] } | { ok: false; reason: string };

export function stratifiedShuffleSplit(labels: ArrayLike<number>, options: SplitOptions = {}): SplitResult {
  const n = labels.length;
  const testSize = options.testSize ?? 0.1;
  const nTest = Math.ceil(testSize * n);
  const nTrain = n - nTest;
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const classIndices = classes.map((c) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === c) out.push(i);
    return out;
  });
  const counts = classIndices.map((c) => c.length);
  if (Math.min(...counts) < 2)
    return { ok: false, reason: 'the least populated class has fewer than 2 rows' };
  if (nTrain < classes.length || nTest < classes.length)
    return { ok: false, reason: 'too few rows for a train and a test fold holding every class' };
  const rng = new RandomState(options.seed ?? 42);
  const splits: Split[] = [];
  for (let s = 0; s < (options.splits ?? 10); s++) {
    const nI = approximateMode(counts, nTrain, rng);
    const tI = approximateMode(
      counts.map((c, i) => c - nI[i]!),
      nTest,
      rng,
    );
    const train: number[] = [];
    const test: number[] = [];
    classIndices.forEach((indices, i) => {
      const permuted = rng.permutation(counts[i]!).map((p) => indices[p]!);
      // A loop, not push(...slice): spreading ~10^5 arguments overflows the call stack.
      for (let k = 0; k < nI[i]!; k++) train.push(permuted[k]!);
      for (let k = nI[i]!; k < nI[i]! + tI[i]!; k++) test.push(permuted[k]!);
    });
    splits.push({ train: rng.shuffle(train), test: rng.shuffle(test) });
  }
  return { ok: true, splits };
}

/** scikit-learn's `_approximate_mode`: the most likely draw of `draws` rows by class, ties broken by the RNG. */
function approximateMode(counts: number[], draws: number, rng: RandomState): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * draws);
  const floored = continuous.map(Math.floor);
  let needToAdd = Math.trunc(draws - floored.reduce((a, b) => a + b, 0));
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      for (const p of rng.permutation(inds.length).slice(0, addNow)) floored[inds[p]!]! += 1;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}
