/** Estimated performance before labels arrive (SPEC 4.1): CBPE for binary classifiers. */
export { performanceEstimation, type EstimationCapability } from './capability.js';
export {
  EstimationService,
  type EstimatedBucket,
  type EstimatedPerformance,
  type EstimationRequest,
} from './service/estimation-service.js';
export { EstimationError, type EstimationErrorCode } from './errors.js';
export { ESTIMATED_METRICS, type EstimatedMetric, type Estimates } from './estimators.js';
