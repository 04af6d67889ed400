/**
 * Segments (README.md): a model's predictions split by a categorical feature's or a tag's
 * value, so drift, data quality, metrics and change detection can be read per segment.
 */
export { SegmentError, type SegmentErrorCode } from './errors.js';
export {
  formatSegment,
  MAX_SEGMENT_PARAM_LENGTH,
  parseSegment,
  type SegmentKind,
  type SegmentSpec,
} from './spec.js';
export {
  DEFAULT_SEGMENT_MAX_MEMORY_BYTES,
  missingFilter,
  otherFilter,
  segmentValueSql,
  valueFilter,
  type SegmentFilter,
} from './sql.js';
export {
  requireSegmentInScope,
  resolveSegments,
  type ResolveOptions,
  type Segment,
  type SegmentScope,
} from './resolve.js';
export { restrictPredictions } from './restricted-database.js';
export {
  DEFAULT_MAX_SEGMENTS,
  DEFAULT_MIN_REFERENCE_ROWS,
  MAX_SEGMENTS,
  segmentSettings,
  segmentsPolicySchema,
  type SegmentSettings,
  type SegmentsPolicy,
} from './settings.js';
export { segmentMigrations } from './schema.js';
