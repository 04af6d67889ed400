import type { FastifySchemaValidationError } from 'fastify';

/**
 * Every route's validation errors as one line naming the field (SPEC 9); an unknown field is
 * named too, which Ajv's own message ("must NOT have additional properties") does not.
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const messages = errors.map((e) => {
    const path = `${dataVar}${e.instancePath}`;
    const params: Record<string, unknown> = e.params;
    if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string')
      return `${path}: unknown field '${params['additionalProperty']}'`;
    return `${path} ${e.message ?? 'is invalid'}`;
  });
  return new Error(messages.join('; '));
}
