/** Errors of the performance-estimation capability, classified by code (never by message). */
export type EstimationErrorCode =
  'UNKNOWN_MODEL' | 'UNKNOWN_VERSION' | 'NOT_BINARY' | 'NO_REFERENCE' | 'CALIBRATION_FAILED';

export class EstimationError extends Error {
  constructor(
    readonly code: EstimationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EstimationError';
  }

  /**
   * A request error cannot succeed until the model or its reference changes; a failed fit is
   * tried again after a while.
   */
  get retryable(): boolean {
    return this.code === 'CALIBRATION_FAILED';
  }

  get status(): 404 | 409 | 503 {
    switch (this.code) {
      case 'UNKNOWN_MODEL':
      case 'UNKNOWN_VERSION':
        return 404;
      case 'NOT_BINARY':
      case 'NO_REFERENCE':
        return 409;
      case 'CALIBRATION_FAILED':
        return 503;
    }
  }
}
