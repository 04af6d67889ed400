/**
 * Errors of the inference core, classified by code (never by message). Every code but
 * `MODEL_CLOSED`, `RUN_FAILED` and `WORKER_FAILED` describes the artifact or its metadata, so a
 * registration route answers them with 400.
 */
export type InferenceErrorCode =
  /** Not a loadable ONNX model: random bytes, a truncated file, an empty buffer. */
  | 'ARTIFACT_INVALID'
  /** The artifact is larger than the core's `maxArtifactBytes`. */
  | 'ARTIFACT_TOO_LARGE'
  /** The artifact file could not be read (missing, unreadable). */
  | 'ARTIFACT_UNREADABLE'
  /** No metadata, or metadata that breaks the schema (the message names the field). */
  | 'METADATA_INVALID'
  /** The graph's inputs or outputs do not match the metadata (the message names the mismatch). */
  | 'GRAPH_MISMATCH'
  /** A matrix whose length is not rows × features. */
  | 'INPUT_SHAPE'
  /** Scoring after `close()`. */
  | 'MODEL_CLOSED'
  /** onnxruntime failed while running a loaded graph. */
  | 'RUN_FAILED'
  /**
   * The session's worker thread could not start or stopped: nothing about the model. Retryable:
   * `InferenceCore` loads a model whose worker stopped again on its next `load`.
   */
  | 'WORKER_FAILED';

export class InferenceError extends Error {
  constructor(
    readonly code: InferenceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InferenceError';
  }

  /** Nothing the core refuses gets better by trying again (the bytes or the call must change), but a worker thread's failure. */
  get retryable(): boolean {
    return this.code === 'WORKER_FAILED';
  }

  get status(): 400 | 409 | 500 | 503 {
    switch (this.code) {
      case 'ARTIFACT_INVALID':
      case 'ARTIFACT_TOO_LARGE':
      case 'ARTIFACT_UNREADABLE':
      case 'METADATA_INVALID':
      case 'GRAPH_MISMATCH':
      case 'INPUT_SHAPE':
        return 400;
      case 'MODEL_CLOSED':
        return 409;
      case 'RUN_FAILED':
        return 500;
      case 'WORKER_FAILED':
        return 503;
    }
  }
}

export function isInferenceError(err: unknown, code?: InferenceErrorCode): err is InferenceError {
  return err instanceof InferenceError && (code === undefined || err.code === code);
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
