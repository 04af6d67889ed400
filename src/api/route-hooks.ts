/** `onRoute` hooks that hold for every route the app serves, so no route file has to repeat them. */
import type { FastifyReply, RouteOptions } from 'fastify';
import { errorBody } from './errors.js';
import { errorSchema } from './schemas.js';

/** What the auth hook and the rate limits may answer on any route that needs a key. */
const KEYED_ERRORS = {
  401: {
    ...errorSchema,
    description: 'no API key, a malformed Authorization header, or an unknown or revoked key',
  },
  403: { ...errorSchema, description: "the key's role is below the route's" },
  429: {
    ...errorSchema,
    description: 'too many failed authentications, calls without a key or costly calls; see Retry-After',
  },
};

/** Declares the auth errors in the route's OpenAPI responses (a route's own declaration wins). */
export function declareKeyedErrors(route: RouteOptions): void {
  if (route.config?.public === true) return;
  const response = route.schema?.response as Record<string, unknown> | undefined;
  route.schema = { ...route.schema, response: { ...KEYED_ERRORS, ...response } };
}

function headNotServed(_request: unknown, reply: FastifyReply): FastifyReply {
  return reply
    .code(405)
    .header('allow', 'GET')
    .send(errorBody(405, 'HEAD is not served on this costly route: use GET'));
}

/**
 * Fastify answers HEAD with the GET handler: on a costly route that ran a whole export or chain
 * verification for no body, wrote its `export.run` record and used the caller's costly-route budget.
 * There a HEAD is refused (405) before any work, and not counted as a costly call.
 */
export function refuseHeadOnExpensive(route: RouteOptions): void {
  if (route.method !== 'HEAD' || route.config?.expensive !== true) return;
  route.handler = headNotServed;
  route.config = { ...route.config, expensive: false };
}
