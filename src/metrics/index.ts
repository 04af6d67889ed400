export { metrics, type MetricsCapability } from './capability.js';
export {
  computeModelMetrics,
  type MetricsBucket,
  type ModelMetrics,
  type MetricsRequest,
} from './model-metrics.js';
export {
  createQualityGauges,
  GAUGE_METRICS,
  type QualityGauges,
  type QualityGaugesOptions,
} from './quality-gauges.js';
// The one implementation of the quality metrics, for other sources of scored rows (shadow scoring),
// and its class normalization (shadow agreement compares classes as the metrics do).
export { metricsQuery, norm, type MetricsQueryInput, type MetricsRow } from './metrics-sql.js';
// Retention (audit) removes the copies the metrics keep of deleted predictions and labels.
export { metricsRowCopies, type MetricsRowCopies } from './retention-copies.js';
