/**
 * The metrics route per segment (`?segment=feature:region` or `tag:channel`, src/segments): the
 * same buckets computed over each segment's predictions (the raw path: the pre-joined labeled
 * table keeps no features or tags), the most frequent values first, then `other`, then the
 * predictions without a value.
 */
import type { Database } from '../platform/clickhouse/index.js';
import {
  DEFAULT_MAX_SEGMENTS,
  formatSegment,
  parseSegment,
  resolveSegments,
  type ResolveOptions,
} from '../segments/index.js';
import { predictionsSource } from './metrics-sql.js';
import { computeModelMetrics, type MetricsRequest } from './model-metrics.js';
import type { MetricsBucket } from './schemas.js';

export interface SegmentMetrics {
  segment: { by: string; max_segments: number };
  segments: { value: string | null; other: boolean; predictions: number; buckets: MetricsBucket[] }[];
}

export async function computeSegmentMetrics(
  db: Database,
  request: MetricsRequest,
  segment: string,
  maxSegments = DEFAULT_MAX_SEGMENTS,
  /** The segment reads' memory bound (a 400 above it). */
  options: ResolveOptions = {},
): Promise<SegmentMetrics> {
  const spec = parseSegment(segment);
  const segments = await resolveSegments(
    db,
    spec,
    {
      model: request.model,
      versions: request.versions.map((v) => v.model_version),
      from: request.from,
      to: request.to,
    },
    maxSegments,
    options,
  );
  const out: SegmentMetrics['segments'] = [];
  for (const s of segments) {
    const { buckets } = await computeModelMetrics(db, {
      ...request,
      source: { sql: `${predictionsSource}\n        AND ${s.filter.sql}`, params: s.filter.params },
    });
    out.push({ value: s.value, other: s.other, predictions: s.predictions, buckets });
  }
  return { segment: { by: formatSegment(spec), max_segments: maxSegments }, segments: out };
}
