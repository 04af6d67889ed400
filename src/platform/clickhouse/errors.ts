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

/** ClickHouse's MEMORY_LIMIT_EXCEEDED and TIMEOUT_EXCEEDED. */
const MEMORY_LIMIT_EXCEEDED = 241;
const TIMEOUT_EXCEEDED = 159;

/**
 * The query's own memory bound was hit (`max_memory_usage`): the request asked for too much. Not
 * the server's total memory, which is no fault of the request and stays an error like any other.
 */
export function isQueryMemoryLimit(err: unknown): boolean {
  if (clickhouseCode(err) !== MEMORY_LIMIT_EXCEEDED) return false;
  return !/\(total\)|total memory/iu.test(err instanceof Error ? err.message : String(err));
}

/** The query ran longer than ClickHouse allows one (`max_execution_time`). */
export function isTimeLimit(err: unknown): boolean {
  return clickhouseCode(err) === TIMEOUT_EXCEEDED;
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

/** Node's and undici's codes for "no connection, or it broke": the server could not be reached. */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * ClickHouse codes of a server that answered and refused who connects (unknown user, wrong
 * password, address not allowed, authentication failed).
 */
const LOGIN_REFUSED: ReadonlySet<number> = new Set([192, 193, 194, 195, 516]);

/**
 * Whether `err` means ClickHouse could not be reached (refused, unknown host, timed out, connection
 * reset), looking through its causes: `fetch failed` and the client's `Timeout error.` included.
 * An answer from the server (a ClickHouse error, an HTTP error page) is not one.
 */
export function isNetworkError(err: unknown): boolean {
  let current = err;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 5; depth++) {
    const { code, name, message, errors } = current as {
      code?: unknown;
      name?: unknown;
      message?: unknown;
      errors?: unknown;
    };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (name === 'TimeoutError' || name === 'ConnectTimeoutError') return true;
    if (
      typeof message === 'string' &&
      /^(fetch failed|Timeout error\.?|socket hang up)$/i.test(message.trim())
    )
      return true;
    // Node tries each address of a name in turn: an AggregateError of every attempt's failure.
    if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => isNetworkError(e))) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The first line of an error's message (a server's message may embed the query and a stack trace). */
function firstLine(err: unknown): string {
  const line = errorMessage(err).trim().split('\n')[0]?.trim() ?? '';
  if (line !== '') return line;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'no message';
}

/**
 * Why ClickHouse at `location` could not be used, in one line: "is unreachable" only when it
 * could not be reached; a server that answered is quoted ("refused the connection" for a login it
 * refused, else "answered"), so a privilege or password problem is not sent looking for a network
 * one. The embedded engine, in this process, "failed".
 */
export function unavailableMessage(location: string, err: unknown, embedded = false): string {
  if (embedded) return `${location} failed: ${firstLine(err)}`;
  if (isNetworkError(err)) return `${location} is unreachable: ${firstLine(err)}`;
  // A body the client did not parse as a ClickHouse error still starts with its code.
  const code = clickhouseCode(err) ?? Number(/^Code: (\d{1,5})\./.exec(errorMessage(err).trim())?.[1]);
  const verb = LOGIN_REFUSED.has(code) ? 'refused the connection' : 'answered';
  return `${location} ${verb}: ${firstLine(err)}`;
}
