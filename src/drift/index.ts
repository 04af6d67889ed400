/** Data drift (SPEC 5): references, windows, the drift route, the evaluation loop, the offline engine. */
export { drift, type DriftCapability } from './capability.js';
export { readDriftWindows, type DriftWindowQuery, type StoredDriftWindow } from './store/results.js';
export {
  DriftService,
  defaultVersion,
  type ReferenceSummary,
  type ReportRequest,
} from './service/drift-service.js';
export { DriftEvaluator, type EvaluatedWindow } from './service/evaluator.js';
export { watermarkEventTime, type WatermarkOptions } from './store/watermark.js';
export { DriftError, type DriftErrorCode } from './errors.js';
export {
  driftPolicySchema,
  driftSettings,
  effectiveDriftPolicy,
  type DriftPolicy,
  type DriftSettings,
} from './engine/settings.js';
export type { ColumnDrift, ColumnRole, DriftBucket, DriftReport } from './engine/types.js';
export { runOfflineDrift, type OfflineDriftOptions, type OfflineDriftReport } from './offline/offline.js';
export { formatTable as formatDriftTable } from './offline/table.js';
export { METHOD_OPTIONS } from './engine/settings.js';
export {
  QUALITY_CHECKS,
  type QualityCheck,
  type QualityBucket,
  type ColumnQuality,
} from './quality/types.js';
export { readQualityWindows, type StoredQualityWindow } from './quality/store.js';
export type {
  ReportPerformance,
  ReportPerformanceBucket,
  ReportPerformanceProvider,
  ReportPerformanceRequest,
} from './report/index.js';
export { readSegmentWindows, type SegmentWindowQuery, type StoredSegmentWindow } from './segments/store.js';
export { SEGMENT_LABEL_SQL, segmentLabel } from './segments/gauges.js';
