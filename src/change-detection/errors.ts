/** Errors of the change-detection capability, classified by code (never by message). */
export type ChangeDetectionErrorCode =
  'UNKNOWN_MODEL' | 'UNKNOWN_VERSION' | 'BAD_INPUT' | 'TOO_MANY_VALUES' | 'TOO_MANY_DETECTIONS';

export class ChangeDetectionError extends Error {
  /** A request error: the same request fails the same way until the data or the request changes. */
  readonly retryable = false;

  constructor(
    readonly code: ChangeDetectionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChangeDetectionError';
  }

  get status(): 400 | 404 {
    return this.code === 'UNKNOWN_MODEL' || this.code === 'UNKNOWN_VERSION' ? 404 : 400;
  }
}
