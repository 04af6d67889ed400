/** The HTML drift report (SPEC 11 `drift --format html`, the drift report route). */
export { columnDistributions, type ColumnDistribution, type DistributionOptions } from './distribution.js';
export { escapeHtml, renderDriftReportHtml, scriptJson } from './html.js';
export {
  reportModel,
  type ReportBucket,
  type ReportColumn,
  type ReportInput,
  type ReportModel,
} from './model.js';
export {
  renderPerformanceSection,
  type ReportPerformance,
  type ReportPerformanceBucket,
  type ReportPerformanceProvider,
  type ReportPerformanceRequest,
} from './performance.js';
export {
  renderQualitySection,
  type ReportQuality,
  type ReportQualityProvider,
  type ReportQualityThresholds,
} from './quality.js';
