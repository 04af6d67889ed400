import type { FastifyInstance } from 'fastify';

/**
 * Fastify's JSON parser (same poisoning rules), except that an empty body is no body: generated
 * clients send `Content-Type: application/json` on every call, a DELETE included (review 27, F9).
 * A route whose schema requires a body still answers 400 for it (`body must be object`).
 */
export function readEmptyJsonAsNoBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body.length === 0) done(null, undefined);
    else void parseJson(request, body as string, done); // a string: parseAs says so
  });
}
