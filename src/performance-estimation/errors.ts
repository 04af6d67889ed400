/** Errors of the performance-estimation capability, classified by code (never by message). */
export type EstimationErrorCode = 'UNKNOWN_MODEL' | 'UNKNOWN_VERSION' | 'NOT_BINARY' | 'NO_REFERENCE';

export class EstimationError extends Error {
  /** A request error: retrying the same request cannot succeed until the model or its reference changes. */
  readonly retryable = false;

  constructor(
    readonly code: EstimationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EstimationError';
  }

  get status(): 404 | 409 {
    switch (this.code) {
      case 'UNKNOWN_MODEL':
      case 'UNKNOWN_VERSION':
        return 404;
      case 'NOT_BINARY':
      case 'NO_REFERENCE':
        return 409;
    }
  }
}
