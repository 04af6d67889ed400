/** Typed errors of the retrain triggers, classified by `code` (never by message text). */
export type TriggerErrorCode = 'BAD_INPUT' | 'PUBLISH_FAILED' | 'NOT_OWNER';

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
