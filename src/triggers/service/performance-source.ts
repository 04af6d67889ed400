/**
 * Metrics of closed windows and of the reference period, from the metrics capability (no second
 * implementation). `computeModelMetrics` groups by its buckets (`5m`, `1h`, `1d`, `1w`, `month`);
 * a window or reference period of another size is computed as one `month` bucket restricted to
 * its range, which is exact when the range lies inside one calendar month.
 */
import { windowEnd, windowStart, type WindowSpec } from '../../drift/index.js';
import { BUCKETS, computeModelMetrics, type Bucket, type MetricsBucket } from '../../metrics/index.js';
import type { ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import type { ReferenceValue } from '../engine/performance-rule.js';
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

/**
 * Metrics of the `count` windows ending at or before `until` (a window boundary), one bucket per
 * window and version. Windows that no metrics bucket can hold (a multi-day window across a month
 * boundary) are left out.
 */
export async function windowMetrics(
  db: Database,
  model: string,
  versions: Versions,
  spec: WindowSpec,
  until: number,
  count: number,
): Promise<MetricsBucket[]> {
  let from = until;
  for (let k = 0; k < count; k++) from = windowStart(spec, from - 1);
  if (from >= until) return [];
  if ((BUCKETS as readonly string[]).includes(spec.text)) {
    return (await computeModelMetrics(db, { model, versions, bucket: spec.text as Bucket, from, to: until }))
      .buckets;
  }
  const out: MetricsBucket[] = [];
  for (let start = from; start < until; start = windowEnd(spec, start))
    out.push(...((await rangeMetrics(db, model, versions, start, windowEnd(spec, start))) ?? []));
  return out;
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
