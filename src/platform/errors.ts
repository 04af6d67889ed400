/** Error codes the service classifies by; never by message text. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CLICKHOUSE_UNAVAILABLE'
  | 'CLICKHOUSE_QUERY'
  | 'KAFKA_UNAVAILABLE'
  | 'BROKER_SETUP'
  | 'NOT_FOUND'
  | 'BAD_REQUEST';

/** An error meant for a person: `message` is one line that says what and where. */
export class ModelwatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelwatchError';
  }
}

export function isModelwatchError(err: unknown, code?: ErrorCode): err is ModelwatchError {
  return err instanceof ModelwatchError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
