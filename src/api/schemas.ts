/** JSON Schema pieces every route plugin shares (validation, serialization and /docs). */
export const nullableNumber = { type: ['number', 'null'] } as const;

/** The body of every 4xx/5xx answer: Fastify's own error shape. */
export const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
  required: ['statusCode', 'error', 'message'],
} as const;
