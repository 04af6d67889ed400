import { ModelwatchError, errorMessage } from '../errors.js';

/**
 * ClickHouse error codes (src/Common/ErrorCodes.cpp) that mean "this data cannot be stored":
 * the rows themselves are wrong, so the same insert fails the same way forever. Every other
 * code (unknown table, network, timeout, memory, read-only replica, …) may pass on a retry.
 * TOO_MANY_PARTS (252) is left out on purpose: it also means "merges are behind", which passes.
 */
const DATA_ERRORS: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [306, 'TOO_DEEP_RECURSION'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  [576, 'CANNOT_PARSE_BOOL'],
]);

/**
 * The numeric ClickHouse code of an error, wherever the client put it: `@clickhouse/client`'s
 * `ClickHouseError.code` (digits as text) or chdb's `ChdbError.clickhouseCode` (a number).
 */
export function clickhouseCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, clickhouseCode: native } = err as { code?: unknown; clickhouseCode?: unknown };
  if (typeof native === 'number' && Number.isInteger(native)) return native;
  if (typeof code === 'string' && /^\d{1,5}$/.test(code)) return Number(code);
  return undefined;
}

/** True when ClickHouse refused the data (retrying the same rows cannot help). */
export function isDataError(err: unknown): boolean {
  const code = clickhouseCode(err);
  return code !== undefined && DATA_ERRORS.has(code);
}

/** A typed error for a failed write: `CLICKHOUSE_REJECTED` (not retryable) or `CLICKHOUSE_UNAVAILABLE`. */
export function classifyWriteError(err: unknown, what: string): ModelwatchError {
  if (err instanceof ModelwatchError) return err;
  const code = clickhouseCode(err);
  const message = `${what}: ${errorMessage(err)}`;
  return isDataError(err)
    ? new ModelwatchError('CLICKHOUSE_REJECTED', `${message} (code ${code})`, false, { cause: err })
    : new ModelwatchError('CLICKHOUSE_UNAVAILABLE', message, true, { cause: err });
}
