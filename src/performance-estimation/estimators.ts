/**
 * NannyML 0.13.1's CBPE estimators for binary classification, over one bucket's rows: the
 * calibrated probability p of the positive class, the predicted class, and the model's own score.
 * The service computes the same sums in ClickHouse (estimate-sql.ts); this is the definition the
 * SQL is tested against, and it is exercised directly by the unit tests.
 *
 * Expected confusion matrix: TP = Σ p over predicted positives, FP = Σ (1 − p) over predicted
 * positives, FN = Σ p over predicted negatives, TN = Σ (1 − p) over predicted negatives.
 * accuracy = (TP + TN) / n; precision = TP / (TP + FP); recall = TP / (TP + FN);
 * F1 = TP / (TP + (FP + FN) / 2); a ratio with a zero denominator is 0 (NannyML's choice).
 *
 * ROC AUC (`estimate_roc_auc`): rows by the model's score descending; expected TP(k) = Σ of the
 * first k calibrated p, FP(k) = k − TP(k), both from (0, 0) and rounded to 5 decimals; the curve
 * is TPR = TP/TP(n), FPR = FP/FP(n) and the area is the trapezoid sum (scikit-learn's `auc`).
 * Every row is a point (equal scores have equal p, so their points lie on one line). Undefined
 * (null) when every p is 0 or every p is 1.
 */

export interface EstimatorRow {
  /** Calibrated probability of the positive class. */
  p: number;
  /** The model predicted the positive class. */
  predictedPositive: boolean;
  /** The model's uncalibrated score (orders the ROC curve). */
  score: number;
}

export interface Estimates {
  roc_auc: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export const ESTIMATED_METRICS = ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'] as const;
export type EstimatedMetric = (typeof ESTIMATED_METRICS)[number];

/** NumPy's `round(x, 5)`: scale, round half to even, unscale. */
export function round5(x: number): number {
  const scaled = x * 1e5;
  let r = Math.round(scaled);
  if (Math.abs(scaled % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return r / 1e5;
}

export function estimateRocAuc(rows: readonly EstimatorRow[]): number | null {
  const sorted = [...rows].sort((a, b) => b.score - a.score);
  const tps = [0];
  const fps = [0];
  let cumulative = 0;
  sorted.forEach((row, i) => {
    cumulative += row.p;
    tps.push(round5(cumulative));
    fps.push(round5(i + 1 - cumulative));
  });
  const tpTotal = tps[tps.length - 1]!;
  const fpTotal = fps[fps.length - 1]!;
  if (tpTotal === 0 || fpTotal === 0) return null;
  let area = 0;
  for (let k = 1; k < tps.length; k++) {
    area += ((fps[k]! / fpTotal - fps[k - 1]! / fpTotal) * (tps[k]! / tpTotal + tps[k - 1]! / tpTotal)) / 2;
  }
  return area;
}

export function estimate(rows: readonly EstimatorRow[]): Estimates {
  if (rows.length === 0) return { roc_auc: null, accuracy: null, precision: null, recall: null, f1: null };
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const r of rows) {
    if (r.predictedPositive) {
      tp += r.p;
      fp += 1 - r.p;
    } else {
      fn += r.p;
      tn += 1 - r.p;
    }
  }
  const ratio = (num: number, den: number) => (den !== 0 ? num / den : 0);
  return {
    roc_auc: estimateRocAuc(rows),
    accuracy: (tp + tn) / rows.length,
    precision: ratio(tp, tp + fp),
    recall: ratio(tp, tp + fn),
    f1: ratio(tp, tp + 0.5 * (fp + fn)),
  };
}
