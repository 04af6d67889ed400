/** Errors of segment requests, classified by code (never by message). */
export type SegmentErrorCode = 'BAD_INPUT' | 'UNKNOWN_SEGMENT';

export class SegmentError extends Error {
  /** The same request fails the same way: nothing to retry. */
  readonly retryable = false;
  readonly status = 400;

  constructor(
    readonly code: SegmentErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SegmentError';
  }
}
