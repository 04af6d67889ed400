/** JSON Schema pieces every route plugin shares (validation, serialization and /docs). */
export const nullableNumber = { type: ['number', 'null'] } as const;

/**
 * The body of every 4xx/5xx answer, whatever produced it (routes, auth, Fastify's parsing and
 * routing, unexpected failures: see errors.ts). The request id is the `x-request-id` header.
 */
export const errorSchema = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string', description: 'the HTTP reason phrase' },
    message: {
      type: 'string',
      description: 'one line: what is wrong and where (the field), or how to narrow a query',
    },
  },
  required: ['statusCode', 'error', 'message'],
  additionalProperties: false,
} as const;

export { errorBody, type ErrorBody } from './errors.js';
