/**
 * The reference band of each estimated metric (NannyML's `StandardDeviationThreshold` with its
 * defaults): mean ± 3 population standard deviations of the metric's realized values over the
 * reference period's buckets (the metrics route's figures, buckets without a value left out),
 * a lower bound at or under 0 replaced by 0 and an upper bound at or over 1 by 1 (the metrics'
 * limits). A value outside its band is an alert; a metric without a value has none.
 */
import { ESTIMATED_METRICS, type EstimatedMetric, type Estimates } from '../estimators.js';

export type Band = [number, number] | null;
export type Bands = Record<EstimatedMetric, Band>;

/** @default 3 */
export const BAND_STDS = 3;

export function referenceBands(buckets: readonly Partial<Record<EstimatedMetric, number | null>>[]): Bands {
  const bands = {} as Bands;
  for (const metric of ESTIMATED_METRICS) {
    const values = buckets.map((b) => b[metric]).filter((v): v is number => v !== null && v !== undefined);
    if (values.length === 0) {
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
