/**
 * The reference band of each estimated metric (NannyML's `StandardDeviationThreshold` with its
 * defaults): mean ± 3 population standard deviations of the metric's realized values over the
 * reference period's buckets, a lower bound at or under 0 replaced by 0 and an upper bound at or
 * over 1 by 1 (the metrics' limits). A value outside its band is an alert; a metric without a
 * band has none.
 *
 * The realized values follow NannyML's `_realized_performance`: a bucket whose labels hold one
 * class has no ROC AUC, precision, recall or F1, nor one whose predictions hold one class for
 * precision, recall and F1 (NaN there, left out of the band). With fewer than
 * `MIN_BAND_BUCKETS` values there is no band: NannyML's std of one chunk is 0, a zero-width band
 * that every estimate leaves.
 */
import { ESTIMATED_METRICS, type EstimatedMetric, type Estimates } from '../estimators.js';

export type Band = [number, number] | null;
export type Bands = Record<EstimatedMetric, Band>;

/** @default 3 */
export const BAND_STDS = 3;
/** Fewer reference buckets with a value give no band. @default 2 */
export const MIN_BAND_BUCKETS = 2;

/** One reference bucket: the metrics route's figures and the classes of its labeled predictions. */
export interface ReferenceBucket {
  realized: Estimates;
  labeled: number;
  labelPositives: number;
  predictedPositives: number;
}

/** The bucket's realized values as NannyML computes them for its thresholds. */
export function nannymlRealized(bucket: ReferenceBucket): Estimates {
  const { realized, labeled, labelPositives, predictedPositives } = bucket;
  const labelsOneClass = labelPositives === 0 || labelPositives === labeled;
  const predictionsOneClass = predictedPositives === 0 || predictedPositives === labeled;
  const noRatios = labelsOneClass || predictionsOneClass;
  return {
    roc_auc: labelsOneClass ? null : realized.roc_auc,
    accuracy: realized.accuracy,
    precision: noRatios ? null : realized.precision,
    recall: noRatios ? null : realized.recall,
    f1: noRatios ? null : realized.f1,
  };
}

export function referenceBands(buckets: readonly Partial<Record<EstimatedMetric, number | null>>[]): Bands {
  const bands = {} as Bands;
  for (const metric of ESTIMATED_METRICS) {
    const values = buckets.map((b) => b[metric]).filter((v): v is number => v !== null && v !== undefined);
    if (values.length < MIN_BAND_BUCKETS) {
      bands[metric] = null;
      continue;
    }
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
    const lower = mean - BAND_STDS * std;
    const upper = mean + BAND_STDS * std;
    bands[metric] = [lower <= 0 ? 0 : lower, upper >= 1 ? 1 : upper];
  }
  return bands;
}

export function alerts(estimated: Estimates, bands: Bands): EstimatedMetric[] {
  return ESTIMATED_METRICS.filter((metric) => {
    const value = estimated[metric];
    const band = bands[metric];
    return value !== null && band !== null && (value < band[0] || value > band[1]);
  });
}
