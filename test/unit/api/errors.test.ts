import { describe, expect, it } from 'vitest';
import { describeError, errorBody } from '../../../src/api/errors.js';
import { ModelwatchError } from '../../../src/platform/errors.js';

function fastifyError(code: string, statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('error bodies', () => {
  it('are one line, capped, with the reason phrase of the status', () => {
    expect(errorBody(409, 'no reference')).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'no reference',
    });
    expect(errorBody(400, 'two\nlines')).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'two lines',
    });
    const long = errorBody(400, `querystring/from: '${'9'.repeat(100_000)}' is not a time`);
    expect(long.message.length).toBe(1_001);
    expect(long.message.endsWith('…')).toBe(true);
  });

  it("replace Fastify's messages that echo the request", () => {
    const path = `/api/v1/models/${'x'.repeat(5_000)}/drift`;
    expect(
      describeError(
        fastifyError('FST_ERR_MAX_PARAM_LENGTH', 414, `'${path}' is exceeding the max param length`),
      ),
    ).toEqual({
      statusCode: 414,
      error: 'URI Too Long',
      message: 'a path parameter is too long (at most 512 characters)',
    });
    expect(
      describeError(fastifyError('FST_ERR_BAD_URL', 400, `'${path}' is not a valid url component`)).message,
    ).not.toContain('xxx');
    expect(
      describeError(fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'Unsupported Media Type')).statusCode,
    ).toBe(415);
    expect(
      describeError(Object.assign(new SyntaxError('Unexpected end of JSON input'), { statusCode: 400 })),
    ).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'body: not valid JSON (Unexpected end of JSON input)',
    });
  });

  it('keep a validation message, and map typed errors by code', () => {
    const validation = Object.assign(new Error('querystring/bucket must match pattern'), {
      statusCode: 400,
      validation: [],
      code: 'FST_ERR_VALIDATION',
    });
    expect(describeError(validation)).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'querystring/bucket must match pattern',
    });
    expect(describeError(new ModelwatchError('NOT_FOUND', "unknown model 'm'"))).toEqual({
      statusCode: 404,
      error: 'Not Found',
      message: "unknown model 'm'",
    });
  });

  it('never pass on the message of anything else: a 500 with a fixed message', () => {
    const internal = {
      statusCode: 500,
      error: 'Internal Server Error',
      message: 'internal error: the request id (x-request-id) identifies it in the service log',
    };
    expect(describeError(new Error('Code: 60. DB::Exception: SELECT secret FROM t'))).toEqual(internal);
    // A library error claiming a client status is still a server fault unless it is a known kind.
    expect(describeError(Object.assign(new Error('SELECT secret'), { statusCode: 400 }))).toEqual(internal);
    expect(describeError(new ModelwatchError('CLICKHOUSE_QUERY', 'SELECT secret'))).toEqual(internal);
    expect(describeError('a string')).toEqual(internal);
    expect(describeError(null)).toEqual(internal);
  });

  it("answer the engine's own time and query-memory limits as the request's fault, not a bug", () => {
    // As chdb and @clickhouse/client carry the code (a number, or digits as text).
    const timeout = Object.assign(new Error('Code: 159. DB::Exception: Timeout exceeded'), {
      clickhouseCode: 159,
    });
    expect(describeError(timeout).statusCode).toBe(503);
    expect(describeError(timeout).message).toContain('narrow the range');
    const memory = Object.assign(new Error('Code: 241. DB::Exception: Query memory limit exceeded'), {
      code: '241',
    });
    expect(describeError(memory)).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'the request needs more memory than ClickHouse allows a query: narrow the range (from, to)',
    });
    const total = Object.assign(new Error('Code: 241. DB::Exception: Memory limit (total) exceeded'), {
      code: '241',
    });
    expect(describeError(total).statusCode).toBe(500);
  });
});
