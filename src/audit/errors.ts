/** Errors of the audit capability, classified by code (never by message). */
export type AuditErrorCode =
  /** A record broke its schema; `field` names the first offending field. Not retryable. */
  | 'INVALID_RECORD'
  /** A query filter broke its schema (e.g. `from` after `to`). Not retryable. */
  | 'INVALID_QUERY'
  /** The stored head is not where this writer expected: another writer appended, or a fork. */
  | 'CHAIN_CONFLICT'
  /**
   * The stored head cannot be continued: its position is beyond 2^53 - 1, or its source offset is
   * at or beyond the source's end (an edited row). Retryable, so the consumer holds the chain
   * (degraded, nothing skipped) until the row is repaired.
   */
  | 'CHAIN_CORRUPT'
  /** ClickHouse failed; the append can be retried after the writer re-read its head. */
  | 'STORE_FAILED';

export class AuditError extends Error {
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    readonly retryable = false,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AuditError';
  }
}

export function isAuditError(err: unknown, code?: AuditErrorCode): err is AuditError {
  return err instanceof AuditError && (code === undefined || err.code === code);
}
