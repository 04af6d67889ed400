import type { FastifyInstance, FastifyRequest } from 'fastify';
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

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
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
    const key = bearer(request);
    if (!key) {
      await throttle?.failed(request);
      return reply.code(401).send(errorBody(401, 'missing API key: send Authorization: Bearer <key>'));
    }
    const principal = await options.keys.authenticate(key);
    if (!principal) {
      await throttle?.failed(request);
      return reply.code(401).send(errorBody(401, 'unknown or revoked API key'));
    }
    // Set before the role check so a denied call is audited under the key's name.
    request.principal = principal;
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
