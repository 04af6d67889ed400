/** Typed errors of the retrain triggers, classified by `code` (never by message text). */

/** `RECLAIMED`: a partition's producer was replaced; read the partition to its end before sending to it. */
export type TriggerErrorCode = 'BAD_INPUT' | 'PUBLISH_FAILED' | 'NOT_OWNER' | 'RECLAIMED';

export class TriggerError extends Error {
  constructor(
    readonly code: TriggerErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TriggerError';
  }
}
