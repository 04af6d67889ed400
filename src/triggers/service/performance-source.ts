/**
 * Metrics of closed windows and of the reference period, from the metrics capability (no second
 * implementation). Windows are the metrics route's buckets (src/platform/time). The reference
 * period is an arbitrary range, computed as one bucket of the metrics query that starts at the
 * period's start and is as long as the period, whatever calendar months it spans.
 */
import {
  computeModelMetrics,
  metricsQuery,
  type MetricsBucket,
  type MetricsRow,
} from '../../metrics/index.js';
import { normalizeClass, type ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { EstimationError, type EstimationService } from '../../performance-estimation/index.js';
import { bucketEnd, bucketStart, type Bucket } from '../../platform/time/index.js';
import type { JudgedWindow, ReferenceValue } from '../engine/performance-rule.js';
import type { RetrainMetric } from '../engine/policy.js';

type Versions = Pick<ModelVersionRecord, 'model_version' | 'task' | 'positive_class'>[];

/**
 * The metrics of one version over [from, to), or undefined when it has no prediction there. The
 * metrics capability's own query on its raw path (the one its rollup is tested against), since
 * the routes' buckets (and so `computeModelMetrics`) cannot hold an arbitrary range in one bucket.
 */
async function rangeMetrics(
  db: Database,
  model: string,
  version: Versions[number],
  from: number,
  to: number,
): Promise<MetricsRow | undefined> {
  if (to <= from) return undefined;
  const { query, params } = metricsQuery({
    model,
    task: version.task,
    versions: [{ version: version.model_version, positiveClass: normalizeClass(version.positive_class) }],
    bucket: { text: 'reference period', size: to - from, origin: from },
    from,
    to,
    // Only the labels of the period's predictions: a period is usually a small part of the history.
    prefilterLabels: true,
  });
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<MetricsRow>();
  return row;
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
  const value = (await rangeMetrics(db, model, version, reference.from, reference.to))?.[metric] ?? null;
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
