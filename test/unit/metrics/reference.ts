/**
 * A small, deliberately plain reference implementation of the SPEC 4 metrics, written from the
 * textbook definitions and independent of the code under test (which computes in ClickHouse SQL).
 * Tests derive their expected values from it; reference.test.ts checks it against scikit-learn.
 */

export type Value = string | number | boolean;

export interface RefPrediction {
  id: string;
  version: string;
  /** Epoch ms. */
  time: number;
  prediction: Value;
  score?: number | null;
  latency?: number | null;
  error?: boolean;
}

export interface RefLabel {
  id: string;
  label: Value;
  /** Epoch ms; the latest label of a prediction wins. */
  time: number;
}

export type RefTask = 'binary_classification' | 'multiclass_classification' | 'regression';

export interface RefBucket {
  version: string;
  start: number;
  count: number;
  error_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  labeled: number;
  label_coverage: number;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  positive_rate: number | null;
  macro_f1: number | null;
  mae: number | null;
  rmse: number | null;
  mape: number | null;
  r2: number | null;
}

/** How a value is stored as a class: numbers as JS text, booleans as 1/0. */
export function classOf(value: Value): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value === 'true') return '1';
  if (value === 'false') return '0';
  return String(value);
}

export function numberOf(value: Value): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) ? n : null;
}

/** NumPy's default percentile: linear interpolation between the closest ranks. */
export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const lo = sorted[lower] as number;
  const hi = sorted[upper] as number;
  return lo + (hi - lo) * (position - lower);
}

/** ROC AUC as the Mann-Whitney statistic with average ranks for ties; null with one class. */
export function rocAuc(scores: number[], positive: boolean[]): number | null {
  const n = scores.length;
  const order = scores.map((s, i) => ({ s, i })).sort((a, b) => a.s - b.s);
  const ranks = new Array<number>(n).fill(0);
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && order[end + 1]?.s === order[start]?.s) end++;
    const average = (start + 1 + end + 1) / 2;
    for (let k = start; k <= end; k++) ranks[(order[k] as { i: number }).i] = average;
    start = end + 1;
  }
  const nPos = positive.filter(Boolean).length;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  const rankSum = ranks.reduce((sum, r, i) => sum + (positive[i] ? r : 0), 0);
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** scikit-learn f1_score(average='macro', zero_division=0) over the classes seen in either list. */
export function macroF1(truth: string[], predicted: string[]): number {
  const classes = [...new Set([...truth, ...predicted])];
  const f1s = classes.map((c) => {
    let tp = 0;
    let predictedC = 0;
    let trueC = 0;
    for (let i = 0; i < truth.length; i++) {
      if (predicted[i] === c) predictedC++;
      if (truth[i] === c) trueC++;
      if (predicted[i] === c && truth[i] === c) tp++;
    }
    const precision = predictedC === 0 ? 0 : tp / predictedC;
    const recall = trueC === 0 ? 0 : tp / trueC;
    return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  });
  return f1s.reduce((a, b) => a + b, 0) / classes.length;
}

export interface RegressionMetrics {
  mae: number | null;
  rmse: number | null;
  mape: number | null;
  r2: number | null;
}

/** MAPE leaves out labels equal to 0; R² is null when the labels are constant or fewer than 2. */
export function regression(truth: number[], predicted: number[]): RegressionMetrics {
  const n = truth.length;
  if (n === 0) return { mae: null, rmse: null, mape: null, r2: null };
  const errors = truth.map((y, i) => (predicted[i] as number) - y);
  const mae = errors.reduce((s, e) => s + Math.abs(e), 0) / n;
  const sse = errors.reduce((s, e) => s + e * e, 0);
  const nonZero = truth.map((y, i) => ({ y, e: errors[i] as number })).filter((x) => x.y !== 0);
  const mape =
    nonZero.length === 0
      ? null
      : nonZero.reduce((s, x) => s + Math.abs(x.e) / Math.abs(x.y), 0) / nonZero.length;
  const mean = truth.reduce((a, b) => a + b, 0) / n;
  const sst = truth.reduce((s, y) => s + (y - mean) ** 2, 0);
  return { mae, rmse: Math.sqrt(sse / n), mape, r2: n < 2 || sst === 0 ? null : 1 - sse / sst };
}

export interface ReferenceOptions {
  /** Bucket start (epoch ms) of an event time. */
  bucketOf: (time: number) => number;
  taskOf: (version: string) => RefTask;
  /** @default '1' */
  positiveClassOf?: (version: string) => string;
}

/** Every metric per (version, bucket), from raw (possibly redelivered) predictions and labels. */
export function referenceMetrics(
  predictions: RefPrediction[],
  labels: RefLabel[],
  options: ReferenceOptions,
): RefBucket[] {
  const uniquePredictions = new Map(predictions.map((p) => [p.id, p]));
  const latestLabel = new Map<string, RefLabel>();
  for (const l of labels) {
    const current = latestLabel.get(l.id);
    if (!current || l.time >= current.time) latestLabel.set(l.id, l);
  }
  const groups = new Map<string, RefPrediction[]>();
  for (const p of uniquePredictions.values()) {
    const key = `${p.version}\0${options.bucketOf(p.time)}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const buckets: RefBucket[] = [];
  for (const [key, group] of groups) {
    const [version = '', start = '0'] = key.split('\0');
    const task = options.taskOf(version);
    const positive = options.positiveClassOf?.(version) ?? '1';
    const latencies = group.flatMap((p) =>
      p.latency === null || p.latency === undefined ? [] : [p.latency],
    );
    const labeled = group.flatMap((p) => {
      const l = latestLabel.get(p.id);
      return l ? [{ p, label: l.label }] : [];
    });
    const bucket: RefBucket = {
      version,
      start: Number(start),
      count: group.length,
      error_rate: group.filter((p) => p.error === true).length / group.length,
      latency_ms: {
        p50: percentile(latencies, 0.5),
        p95: percentile(latencies, 0.95),
        p99: percentile(latencies, 0.99),
        max: latencies.length === 0 ? null : Math.max(...latencies),
      },
      labeled: labeled.length,
      label_coverage: labeled.length / group.length,
      accuracy: null,
      precision: null,
      recall: null,
      f1: null,
      roc_auc: null,
      positive_rate: null,
      macro_f1: null,
      mae: null,
      rmse: null,
      mape: null,
      r2: null,
    };
    if (task === 'binary_classification') {
      const isPos = (v: Value) => classOf(v) === positive;
      const tp = labeled.filter((x) => isPos(x.p.prediction) && isPos(x.label)).length;
      const fp = labeled.filter((x) => isPos(x.p.prediction) && !isPos(x.label)).length;
      const fn = labeled.filter((x) => !isPos(x.p.prediction) && isPos(x.label)).length;
      const tn = labeled.length - tp - fp - fn;
      const precision = tp + fp === 0 ? null : tp / (tp + fp);
      const recall = tp + fn === 0 ? null : tp / (tp + fn);
      const scored = labeled.filter((x) => x.p.score !== null && x.p.score !== undefined);
      Object.assign(bucket, {
        accuracy: labeled.length === 0 ? null : (tp + tn) / labeled.length,
        precision,
        recall,
        // The harmonic mean, 0 when precision or recall is 0; null when there is no positive at all.
        f1:
          tp + fp + fn === 0
            ? null
            : precision === null || recall === null || precision + recall === 0
              ? 0
              : (2 * precision * recall) / (precision + recall),
        roc_auc: rocAuc(
          scored.map((x) => x.p.score as number),
          scored.map((x) => isPos(x.label)),
        ),
        positive_rate: group.filter((p) => isPos(p.prediction)).length / group.length,
      });
    } else if (task === 'multiclass_classification') {
      const truth = labeled.map((x) => classOf(x.label));
      const predicted = labeled.map((x) => classOf(x.p.prediction));
      Object.assign(bucket, {
        accuracy:
          labeled.length === 0 ? null : truth.filter((t, i) => t === predicted[i]).length / labeled.length,
        macro_f1: labeled.length === 0 ? null : macroF1(truth, predicted),
      });
    } else {
      const pairs = labeled.flatMap((x) => {
        const y = numberOf(x.label);
        const p = numberOf(x.p.prediction);
        return y === null || p === null ? [] : [{ y, p }];
      });
      Object.assign(
        bucket,
        regression(
          pairs.map((x) => x.y),
          pairs.map((x) => x.p),
        ),
      );
    }
    buckets.push(bucket);
  }
  return buckets.sort(
    (a, b) => a.start - b.start || a.version.localeCompare(b.version, 'en', { numeric: true }),
  );
}
