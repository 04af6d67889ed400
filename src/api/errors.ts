/**
 * One error body for every answer of 400 and above: `{ statusCode, error, message }` (the
 * `errorSchema`), whether a route, the auth hook, Fastify's own parsing or routing, or an
 * unexpected failure produced it. The request id travels in the `x-request-id` header; a 5xx is
 * logged at error level with it and answers a fixed message: no stack, SQL or path leaves the process.
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isQueryMemoryLimit, isTimeLimit } from '../platform/clickhouse/index.js';
import { isModelwatchError } from '../platform/errors.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** Client-facing messages are one line; a hostile input can make an echoed value huge. */
const MAX_MESSAGE = 1_000;

export function errorBody(statusCode: number, message: string): ErrorBody {
  const line = message.replace(/\s+/g, ' ');
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message: line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line,
  };
}

/** Fastify's own client errors, with messages that never echo the request (its 414 and 400 URL errors quote the whole path). */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_MAX_PARAM_LENGTH: `a path parameter is too long (at most ${MAX_EVENT_ID_LENGTH} characters)`,
  FST_ERR_BAD_URL: 'the URL is not valid (bad percent-encoding)',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported Content-Type: send application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'the body is too large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body: empty, but Content-Type is application/json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'body: not valid JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the body size does not match Content-Length',
};

function clientStatus(err: Partial<FastifyError>): number | undefined {
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return undefined;
  // Only errors known to be about the request carry their status; any other is a server fault.
  if (err.validation !== undefined || err.code?.startsWith('FST_') === true || err instanceof SyntaxError)
    return status;
  return undefined;
}

/**
 * A read the engine stopped at its own limits (a server's `max_execution_time` or
 * `max_memory_usage`, which the service does not set on most reads): the request asked for more
 * than the engine allows, not a bug. The same mapping as the estimate route's
 * (performance-estimation/errors.ts): the query's memory bound is a 400 asking for less, a time
 * limit a 503 (retry, or ask for less); the server's total memory stays an internal error.
 */
function engineLimitError(err: unknown): ErrorBody | undefined {
  if (isTimeLimit(err))
    return errorBody(
      503,
      'the query took longer than ClickHouse allows one: narrow the range (from, to), or retry later',
    );
  if (isQueryMemoryLimit(err))
    return errorBody(
      400,
      'the request needs more memory than ClickHouse allows a query: narrow the range (from, to)',
    );
  return undefined;
}

/** The status and body for an error; `undefined` message parts never come from an unknown error. */
export function describeError(err: unknown): ErrorBody {
  if (isModelwatchError(err, 'BAD_REQUEST')) return errorBody(400, err.message);
  if (isModelwatchError(err, 'NOT_FOUND')) return errorBody(404, err.message);
  if (isModelwatchError(err, 'CONFLICT')) return errorBody(409, err.message);
  // ClickHouse unreachable or saturated: the client should come back later, not report a bug.
  if (isModelwatchError(err, 'CLICKHOUSE_UNAVAILABLE'))
    return errorBody(503, 'ClickHouse is busy or unreachable; retry later (see Retry-After)');
  if (isModelwatchError(err, 'KAFKA_UNAVAILABLE'))
    return errorBody(503, 'Kafka is unreachable, and with it the audit trail; retry later (see Retry-After)');
  const limit = engineLimitError(err);
  if (limit !== undefined) return limit;
  const e = (typeof err === 'object' && err !== null ? err : {}) as Partial<FastifyError>;
  const status = clientStatus(e);
  if (status === undefined)
    return errorBody(500, 'internal error: the request id (x-request-id) identifies it in the service log');
  const known = e.code === undefined ? undefined : FRAMEWORK_MESSAGES[e.code];
  if (known !== undefined) return errorBody(status, known);
  // JSON.parse's message names the position, not the body.
  if (e instanceof SyntaxError) return errorBody(status, `body: not valid JSON (${e.message})`);
  return errorBody(status, e.message ?? 'bad request');
}

export function sendErrorReply(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const body = describeError(err);
  if (body.statusCode >= 500) {
    // request.log carries the request id (reqId), the same as the x-request-id header.
    request.log.error({ err, method: request.method, route: request.routeOptions.url }, 'request failed');
  }
  if (body.statusCode === 503) reply.header('retry-after', retryAfter(err));
  return reply
    .code(body.statusCode)
    .header('x-request-id', request.id)
    .type('application/json; charset=utf-8')
    .send(body);
}

/** Seconds to wait, from the error when it says (a saturated engine estimates it), else 5. */
function retryAfter(err: unknown): string {
  const headers = (err as { headers?: Record<string, string> }).headers;
  return headers?.['retry-after'] ?? '5';
}

export function sendNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  const shown = path.length > 100 ? `${path.slice(0, 100)}…` : path;
  return reply.code(404).send(errorBody(404, `no route ${request.method} ${shown}`));
}
