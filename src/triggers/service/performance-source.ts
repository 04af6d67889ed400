/**
 * Metrics of closed windows and of the reference period, from the metrics capability (no second
 * implementation). Windows are the metrics route's buckets (src/platform/time). The reference
 * period is an arbitrary range: it is computed as one `month` bucket restricted to the range,
 * which is exact when the range lies inside one calendar month.
 */
import { computeModelMetrics, type MetricsBucket } from '../../metrics/index.js';
import type { ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { EstimationError, type EstimationService } from '../../performance-estimation/index.js';
import { bucketEnd, bucketStart, type Bucket } from '../../platform/time/index.js';
import type { JudgedWindow, ReferenceValue } from '../engine/performance-rule.js';
import type { RetrainMetric } from '../engine/policy.js';

type Versions = Pick<ModelVersionRecord, 'model_version' | 'task' | 'positive_class'>[];

function sameMonth(from: number, to: number): boolean {
  const a = new Date(from);
  const b = new Date(to - 1);
  return a.getUTCFullYear() === b.getUTCFullYear() && a.getUTCMonth() === b.getUTCMonth();
}

/** The metrics of one range as one bucket per version, or undefined when no bucket fits it. */
async function rangeMetrics(
  db: Database,
  model: string,
  versions: Versions,
  from: number,
  to: number,
): Promise<MetricsBucket[] | undefined> {
  if (!sameMonth(from, to)) return undefined;
  const { buckets } = await computeModelMetrics(db, { model, versions, bucket: 'month', from, to });
  const start = new Date(from).toISOString();
  const end = new Date(to).toISOString();
  return buckets.map((b) => ({ ...b, start, end }));
}

/** Metrics of the `count` windows ending at or before `until` (a window boundary), one bucket per window and version. */
export async function windowMetrics(
  db: Database,
  model: string,
  versions: Versions,
  window: Bucket,
  until: number,
  count: number,
): Promise<MetricsBucket[]> {
  let from = until;
  for (let k = 0; k < count; k++) from = bucketStart(window, from - 1);
  if (from >= until) return [];
  return (await computeModelMetrics(db, { model, versions, bucket: window.text, from, to: until })).buckets;
}

export interface ReferenceInfo {
  source: 'range' | 'rows';
  from: number | null;
  to: number | null;
  revision: number;
}

/** The metric over the version's drift reference period (a reference set from a range). */
export async function referenceValue(
  db: Database,
  model: string,
  version: Versions[number],
  metric: RetrainMetric,
  reference: ReferenceInfo | undefined,
): Promise<ReferenceValue> {
  if (!reference) return { value: null, period: null, note: 'no drift reference: max_drop does not apply' };
  if (reference.source !== 'range' || reference.from === null || reference.to === null) {
    return {
      value: null,
      period: null,
      note: 'the drift reference holds uploaded rows, not a period: max_drop does not apply',
    };
  }
  const period = {
    from: new Date(reference.from).toISOString(),
    to: new Date(reference.to).toISOString(),
    revision: reference.revision,
  };
  const buckets = await rangeMetrics(db, model, [version], reference.from, reference.to);
  if (!buckets)
    return {
      value: null,
      period,
      note: 'the reference period spans calendar months, which no metrics bucket holds: max_drop does not apply',
    };
  const value = buckets[0]?.[metric] ?? null;
  return value === null
    ? { value, period, note: `the reference period has no ${metric}` }
    : { value, period };
}

/** What the estimated condition reads: the performance-estimation capability's service. */
export type EstimateSource = Pick<EstimationService, 'calibrators' | 'estimateRows'>;

/**
 * CBPE estimates of the `count` windows ending at or before `until`, one per window and binary
 * version that has a calibrator (a reference taken from a range); `labeled` is the number of
 * scored predictions, the rows the estimate is over.
 */
export async function estimatedWindowMetrics(
  source: EstimateSource,
  versions: (Versions[number] & Pick<ModelVersionRecord, 'model_id'>)[],
  window: Bucket,
  until: number,
  count: number,
  /** A version left out because its calibrator could not be fitted. */
  onSkipped?: (version: string, reason: string) => void,
): Promise<JudgedWindow[]> {
  let from = until;
  for (let k = 0; k < count; k++) from = bucketStart(window, from - 1);
  if (from >= until) return [];
  const out: JudgedWindow[] = [];
  for (const v of versions) {
    if (v.task !== 'binary_classification') continue;
    let calibrator;
    try {
      calibrator = await source.calibrators.get(v);
    } catch (err) {
      if (!(err instanceof EstimationError)) throw err;
      // No reference from a range is a version the estimate does not cover; a failed fit is news.
      if (err.code === 'CALIBRATION_FAILED') onSkipped?.(v.model_version, err.message);
      continue;
    }
    for (const row of await source.estimateRows(v, calibrator, window, from, until)) {
      out.push({
        start: new Date(row.start_ms).toISOString(),
        end: new Date(bucketEnd(window, row.start_ms)).toISOString(),
        version: v.model_version,
        count: Number(row.count),
        labeled: Number(row.count),
        roc_auc: row.roc_auc,
        accuracy: row.accuracy,
        precision: row.precision,
        recall: row.recall,
        f1: row.f1,
      });
    }
  }
  return out;
}
