export { metrics } from './capability.js';
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
