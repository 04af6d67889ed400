/**
 * Misuse limits (issue 10), with @fastify/rate-limit's counters (its in-memory LRU store, so each
 * instance counts on its own; bounded at `MAX_TRACKED` clients):
 * - failed authentication (a wrong key) per client address: past the limit, every request from
 *   that address to a route that needs a key is refused with 429 until the window ends, valid key
 *   or not (so a guesser cannot tell a hit from a miss);
 * - calls without a key (or without a Bearer one) per client address, in a budget of their own:
 *   they guess nothing, so past it only such calls are refused, never a valid key from there;
 * - routes flagged `expensive` (whole-store scans, exports) per API key and per client address;
 * - routes flagged `computed` (answers computed over a caller-chosen range) the same way, with
 *   their own budget, only when it is configured.
 * A refusal is a 429 in the one error shape with `Retry-After`, and audited as denied. An IPv6
 * client address is counted by its /64 (`clientAddress`).
 */
import fastifyRateLimit from '@fastify/rate-limit';
import ipaddr from 'ipaddr.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hashKey } from '../auth/index.js';
import { errorBody } from './errors.js';

export interface RateLimits {
  /** The window every limit counts in. @default 60000 */
  windowMs: number;
  /** Failed authentications (an unknown or revoked key) per client address per window. @default 20 */
  authFailuresPerAddress: number;
  /** Calls without a key per client address per window. @default authFailuresPerAddress */
  keylessPerAddress?: number | undefined;
  /** Calls to `expensive` routes per API key per window. @default 60 */
  expensivePerKey: number;
  /** Calls to `expensive` routes per client address per window (all keys together). @default 120 */
  expensivePerAddress: number;
  /** Calls to `computed` routes per API key per window; undefined: not limited. @default undefined */
  computedPerKey?: number | undefined;
  /** Calls to `computed` routes per client address per window; undefined: not limited. @default undefined */
  computedPerAddress?: number | undefined;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  windowMs: 60_000,
  authFailuresPerAddress: 20,
  expensivePerKey: 60,
  expensivePerAddress: 120,
};

/** Clients (addresses and keys) whose counts are kept; the least recent is dropped beyond. @default 10000 */
export const MAX_TRACKED = 10_000;

/** What the auth hook asks before and after checking a key. */
export interface AuthThrottle {
  /** Refuses (429 sent) when this address failed too often; true when refused. */
  refuse(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
  /** Counts a failed authentication of this address. */
  failed(request: FastifyRequest): Promise<void>;
  /** Counts a call without a key; refuses it (429 sent) past the address's key-less budget; true when refused. */
  keyless(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;
type Outcome = Awaited<ReturnType<Limiter>>;

function tooMany(reply: FastifyReply, seconds: number, message: string): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(Math.max(1, seconds)))
    .send(errorBody(429, `${message}; retry in ${Math.max(1, seconds)} s`));
}

/** Seconds until the window ends when the count is past `max` (or at it, with `atLimit`), else undefined. */
function exceeded(outcome: Outcome, atLimit = false): number | undefined {
  if (outcome.isAllowed) return undefined;
  const over = atLimit ? outcome.remaining === 0 : outcome.isExceeded;
  return over ? outcome.ttlInSeconds : undefined;
}

/**
 * The client a per-address budget counts: an IPv6 address by its /64, which one subscriber holds
 * whole and takes source addresses from at will (one budget per address was no limit at all); an
 * IPv4 one (mapped into IPv6 by a dual-stack socket too) by itself.
 */
export function clientAddress(ip: string): string {
  if (!ipaddr.IPv6.isValid(ip)) return ip;
  const address = ipaddr.IPv6.parse(ip);
  if (address.isIPv4MappedAddress()) return address.toIPv4Address().toString();
  return `${address.parts
    .slice(0, 4)
    .map((part) => part.toString(16))
    .join(':')}::/64`;
}

function bearerToken(request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>;

export interface Throttles {
  auth: AuthThrottle;
  /** An `onRequest` hook for flagged routes; add it after the auth hook, so the key is known. */
  expensive: Hook;
}

/** Per-key and per-address budgets for the routes `flagged` selects; a budget left undefined is off. */
function costLimit(
  app: FastifyInstance,
  name: string,
  flagged: (request: FastifyRequest) => boolean,
  limits: { windowMs: number; perKey: number | undefined; perAddress: number | undefined },
): Hook {
  const limiter = (max: number | undefined, key: (request: FastifyRequest) => string) =>
    max === undefined
      ? undefined
      : app.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: key });
  const perKey = limiter(limits.perKey, (r) => `${name}-key:${hashKey(bearerToken(r) ?? '').slice(0, 32)}`);
  const perAddress = limiter(limits.perAddress, (r) => `${name}-address:${clientAddress(r.ip)}`);
  return async (request, reply) => {
    // Only an authenticated, permitted call counts (the auth hook ran first).
    if (!flagged(request) || request.principal === undefined) return undefined;
    const byKey = perKey ? exceeded(await perKey(request)) : undefined;
    if (byKey !== undefined) return tooMany(reply, byKey, 'too many calls to costly routes with this key');
    const byAddress = perAddress ? exceeded(await perAddress(request)) : undefined;
    if (byAddress !== undefined)
      return tooMany(reply, byAddress, 'too many calls to costly routes from this address');
    return undefined;
  };
}

/** The failed-authentication lockout and the key-less budget, both per client address. */
function authThrottle(app: FastifyInstance, limits: RateLimits): AuthThrottle {
  const perAddress = (name: string, max: number) =>
    app.createRateLimit({
      max,
      timeWindow: limits.windowMs,
      keyGenerator: (r) => `${name}:${clientAddress(r.ip)}`,
    });
  const authFailures = perAddress('auth-failures', limits.authFailuresPerAddress);
  const keylessCalls = perAddress('keyless', limits.keylessPerAddress ?? limits.authFailuresPerAddress);
  return {
    async refuse(request, reply) {
      const wait = exceeded(await authFailures(request, { increment: false }), true);
      if (wait === undefined) return false;
      await tooMany(reply, wait, 'too many failed authentications from this address');
      return true;
    },
    async failed(request) {
      await authFailures(request);
    },
    async keyless(request, reply) {
      const wait = exceeded(await keylessCalls(request));
      if (wait === undefined) return false;
      await tooMany(reply, wait, 'too many calls without an API key from this address');
      return true;
    },
  };
}

/** Registers the counters on `app`; the caller wires the two throttles in around the auth hook. */
export async function registerRateLimits(app: FastifyInstance, limits: RateLimits): Promise<Throttles> {
  await app.register(fastifyRateLimit, { global: false, cache: MAX_TRACKED });
  const timeWindow = limits.windowMs;
  const expensive = costLimit(app, 'expensive', (r) => r.routeOptions.config.expensive === true, {
    windowMs: timeWindow,
    perKey: limits.expensivePerKey,
    perAddress: limits.expensivePerAddress,
  });
  const computed = costLimit(app, 'computed', (r) => r.routeOptions.config.computed === true, {
    windowMs: timeWindow,
    perKey: limits.computedPerKey,
    perAddress: limits.computedPerAddress,
  });
  return {
    auth: authThrottle(app, limits),
    expensive: async (request, reply) => (await expensive(request, reply)) ?? computed(request, reply),
  };
}
