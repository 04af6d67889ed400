/** Error codes the service classifies by; never by message text. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CLICKHOUSE_UNAVAILABLE'
  | 'CLICKHOUSE_QUERY'
  /** ClickHouse refused the data itself (parse, type, range): retrying the same rows cannot succeed. */
  | 'CLICKHOUSE_REJECTED'
  | 'KAFKA_UNAVAILABLE'
  | 'BROKER_SETUP'
  | 'NOT_FOUND'
  /** The request contradicts what is stored (a name already taken): answered 409. */
  | 'CONFLICT'
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

/** `--help` or `-h` among a command's options: its usage goes to stdout and the exit code is 0. */
export class UsageRequested extends Error {
  constructor(readonly usage: string) {
    super(usage);
    this.name = 'UsageRequested';
  }
}

export function isModelwatchError(err: unknown, code?: ErrorCode): err is ModelwatchError {
  return err instanceof ModelwatchError && (code === undefined || err.code === code);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Whether retrying the same operation may succeed. Only a typed error can say no: anything
 * unclassified is retryable, so an unknown failure stalls and is never dropped.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof ModelwatchError ? err.retryable : true;
}
