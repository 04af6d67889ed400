/** Typed errors of the retrain triggers, classified by `code` (never by message text). */

/**
 * `RECLAIMED`: a partition's producer was replaced; read the partition to its end before sending to it.
 * `TOO_LARGE`: the broker refused the message as larger than the topic takes; sending it again fails again.
 */
export type TriggerErrorCode = 'PUBLISH_FAILED' | 'NOT_OWNER' | 'RECLAIMED' | 'TOO_LARGE';

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
