import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { errorBody } from './errors.js';
import type { AuthThrottle } from './rate-limit.js';
import { roleAllows, type KeyStore, type Principal, type Role } from '../auth/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route needs; routes under /api that do not say need admin. */
    role?: Role;
    /** No key needed (health probes, docs). */
    public?: boolean;
    /** Costly for the server (whole-store scans, exports): limited per API key and per client address (rate-limit.ts). */
    expensive?: boolean;
    /**
     * Computed on request over a range the caller chooses (metrics, drift, quality, shadow,
     * estimated performance): limited per key and per address once those limits are configured
     * (rate-limit.ts; off by default).
     */
    computed?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

const MISSING_KEY = 'missing API key: send Authorization: Bearer <key>';
const NOT_BEARER = 'the Authorization header must be Bearer <key>';

/** The key a call presents, or why it presents none (a 401 message). */
function presentedKey(request: FastifyRequest): { key: string } | { missing: string } {
  const header = request.headers.authorization;
  if (!header) return { missing: MISSING_KEY };
  const key = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  return key === undefined ? { missing: NOT_BEARER } : { key };
}

/**
 * A call without a key guesses nothing: it is counted in its own budget, which refuses only such
 * calls, so a stray browser tab or health checker cannot lock out the valid keys at its address.
 */
async function refuseKeyless(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: AuthThrottle | undefined,
  message: string,
): Promise<FastifyReply> {
  if (throttle && (await throttle.keyless(request, reply))) return reply;
  return reply.code(401).send(errorBody(401, message));
}

/** A wrong key counts towards its address's lockout (rate-limit.ts). */
async function refuseWrongKey(
  request: FastifyRequest,
  reply: FastifyReply,
  throttle: AuthThrottle | undefined,
): Promise<FastifyReply> {
  await throttle?.failed(request);
  return reply.code(401).send(errorBody(401, 'unknown or revoked API key'));
}

/** Authentication as a hook on every route, so no route can forget it (fail closed: admin). */
function authHook(
  app: FastifyInstance,
  options: { keys: KeyStore; throttle?: AuthThrottle | undefined },
  done: () => void,
): void {
  const { throttle } = options;
  app.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    // An address past its failed-authentication limit gets 429 before its key is even looked at.
    if (throttle && (await throttle.refuse(request, reply))) return reply;
    const presented = presentedKey(request);
    if ('missing' in presented) return refuseKeyless(request, reply, throttle, presented.missing);
    const principal = await options.keys.authenticate(presented.key);
    if (!principal) return refuseWrongKey(request, reply, throttle);
    // Set before the role check so a denied call is audited under the key's name.
    request.principal = principal;
    // An unknown path is a 404 for every role; only after the key, so paths cannot be probed without one.
    if (request.is404) return;
    const needed = config.role ?? 'admin';
    if (!roleAllows(principal.role, needed)) {
      return reply
        .code(403)
        .send(errorBody(403, `this route needs the ${needed} role; the key has ${principal.role}`));
    }
  });
  done();
}

export const authPlugin = fp(authHook, { name: 'modelwatch-auth' });
