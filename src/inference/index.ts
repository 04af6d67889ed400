/** The embedded inference core (SPEC 7): ONNX models with metadata, scored in batches. */
export { inference, type InferenceCapability } from './capability.js';
export { InferenceCore } from './inference-core.js';
export { bundledModelFile, type BundledModel } from './bundled-models.js';
export { loadModel, loadModelFile, type ModelArtifact, type ModelFileOptions } from './load-model.js';
export { OnnxModel } from './onnx-model.js';
export type { InferenceOptions } from './options.js';
export type { ScoreResult } from './decode-outputs.js';
export type { FeatureMatrix } from './encode-matrix.js';
export { FLOAT32_MAX } from './encode-rows.js';
export type { RowFailure, RowFailureReason } from './failures.js';
export { checkGraphClasses, type GraphBinding } from './graph-check.js';
export {
  MAX_CATEGORIES,
  METADATA_PROPS_KEY,
  parseMetadata,
  parseMetadataJson,
  type FeatureSpec,
  type MetadataJson,
  type ModelMetadata,
} from './metadata.js';
export { readMetadataProps } from './onnx-metadata-props.js';
export { CLASSIFIER_OPS, readGraphClasses } from './onnx-graph-classes.js';
export { InferenceError, isInferenceError, type InferenceErrorCode } from './errors.js';
