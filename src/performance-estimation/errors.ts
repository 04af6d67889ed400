/** Errors of the performance-estimation capability, classified by code (never by message). */
export type EstimationErrorCode =
  | 'UNKNOWN_MODEL'
  | 'UNKNOWN_VERSION'
  | 'NOT_BINARY'
  | 'NO_REFERENCE'
  | 'CALIBRATION_FAILED'
  /** The estimate queries hit ClickHouse's per-query memory limit: narrow the range. */
  | 'RANGE_TOO_LARGE'
  /** The estimate queries hit ClickHouse's time limit: narrow the range, or retry. */
  | 'QUERY_TIMEOUT';

export class EstimationError extends Error {
  constructor(
    readonly code: EstimationErrorCode,
    message: string,
    /** Epoch ms after which a retryable error may succeed (a failed fit is tried again then). */
    readonly retryAt?: number,
  ) {
    super(message);
    this.name = 'EstimationError';
  }

  /**
   * A request error cannot succeed until the model or its reference changes (or the request
   * does); a failed fit is tried again after a while, and a timeout may pass.
   */
  get retryable(): boolean {
    return this.code === 'CALIBRATION_FAILED' || this.code === 'QUERY_TIMEOUT';
  }

  get status(): 400 | 404 | 409 | 503 {
    switch (this.code) {
      case 'RANGE_TOO_LARGE':
        return 400;
      case 'UNKNOWN_MODEL':
      case 'UNKNOWN_VERSION':
        return 404;
      case 'NOT_BINARY':
      case 'NO_REFERENCE':
        return 409;
      case 'CALIBRATION_FAILED':
      case 'QUERY_TIMEOUT':
        return 503;
    }
  }
}

/** ClickHouse's MEMORY_LIMIT_EXCEEDED and TIMEOUT_EXCEEDED. */
const MEMORY_LIMIT_EXCEEDED = 241;
const TIMEOUT_EXCEEDED = 159;

function clickhouseCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const n = typeof code === 'string' && /^\d+$/u.test(code) ? Number(code) : code;
  return typeof n === 'number' ? n : undefined;
}

/**
 * The EstimationError for a ClickHouse error the request's range caused, as the segment and
 * offline drift reads map theirs: the query's own memory bound (not the server's total memory,
 * which is no fault of the request and stays an internal error) is a 400 asking for a narrower
 * range; a query over its time limit is a 503 (retry, or narrow the range).
 * Undefined for any other error.
 */
export function estimationQueryError(err: unknown): EstimationError | undefined {
  const code = clickhouseCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === MEMORY_LIMIT_EXCEEDED && !/\(total\)|total memory/iu.test(message))
    return new EstimationError(
      'RANGE_TOO_LARGE',
      'the estimate over this range needs more memory than ClickHouse allows a query (it holds every scored prediction of the range): narrow the range (from, to)',
    );
  if (code === TIMEOUT_EXCEEDED)
    return new EstimationError(
      'QUERY_TIMEOUT',
      'the estimate over this range took longer than ClickHouse allows a query: narrow the range (from, to), or retry later',
    );
  return undefined;
}
