/**
 * The estimated-performance section of the HTML drift report (src/drift/report/performance.ts):
 * the route's estimates for the report's version, range and bucket, or none when the version has
 * no estimate (not a binary classifier, its reference is not a time range, its calibrator could
 * not be fitted, or the estimate ran over ClickHouse's memory or time limit: the route answers
 * 409, 503 or 400 with the reason, and the drift report stays whole).
 */
import type { ReportPerformance, ReportPerformanceRequest } from '../../drift/index.js';
import { ESTIMATED_METRICS } from '../estimators.js';
import { EstimationError } from '../errors.js';
import type { EstimationService } from './estimation-service.js';

export async function reportPerformance(
  service: Pick<EstimationService, 'estimate'>,
  request: ReportPerformanceRequest,
): Promise<ReportPerformance | null> {
  let estimate;
  try {
    estimate = await service.estimate({
      model: request.modelId,
      version: request.version,
      bucket: request.bucket,
      from: request.from,
      to: request.to,
    });
  } catch (err) {
    // A version without an estimate (or a range too large to estimate): the report shows drift alone.
    if (err instanceof EstimationError && err.code !== 'UNKNOWN_MODEL' && err.code !== 'UNKNOWN_VERSION')
      return null;
    throw err;
  }
  return {
    method: estimate.method,
    metrics: [...ESTIMATED_METRICS],
    calibrated: estimate.calibrated,
    reference: { from: estimate.reference.from, to: estimate.reference.to },
    buckets: estimate.buckets.map((b) => ({
      start: b.start,
      end: b.end,
      count: b.count,
      estimated: { ...b.estimated },
      band: { ...b.band },
      alerts: b.alerts,
      realized: b.realized ? { ...b.realized } : null,
    })),
  };
}
