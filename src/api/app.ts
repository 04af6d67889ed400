import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { KeyStore } from '../auth/index.js';
import type { TrustProxy } from '../platform/config/index.js';
import type { Logger } from '../platform/observability/index.js';
import { auditPlugin, refuseUnrecordedMethod, type ApiCallAuditor } from './audit-hook.js';
import { authPlugin } from './auth-hook.js';
import { keyRoutes } from './key-routes.js';
import { DEFAULT_RATE_LIMITS, registerRateLimits, type RateLimits } from './rate-limit.js';
import { errorBody, sendErrorReply, sendNotFound } from './errors.js';
import { readEmptyJsonAsNoBody } from './json-body.js';
import { declareKeyedErrors, refuseHeadOnExpensive } from './route-hooks.js';
import { loneSurrogateAt } from './unicode-body.js';
import { formatValidationErrors } from './validation-errors.js';
import { uncoercedBodies } from './validators.js';
import { MAX_EVENT_ID_LENGTH } from '../platform/limits.js';

export interface Readiness {
  /** Each named check and whether it passes now; ready when all pass. */
  checks(): Promise<Record<string, boolean>>;
}

export interface AppDeps {
  logger: Logger;
  keys: KeyStore;
  registry: Registry;
  readiness: Readiness;
  /** Serve /metrics without a key (else it needs a viewer key). */
  metricsPublic: boolean;
  /** Failed-auth and expensive-route limits. @default DEFAULT_RATE_LIMITS */
  rateLimits?: RateLimits | undefined;
  /**
   * Peers trusted to forward the client's address (`request.ip`, which per-address limits count
   * by); Fastify's `trustProxy`. @default false (the socket's address)
   */
  trustProxy?: TrustProxy;
  /** Audits every call (onResponse); none in tests of the bare app. */
  auditor?: ApiCallAuditor;
  /** Capability route plugins, mounted under /api/v1. */
  routes: FastifyPluginAsync[];
}

/** A hop count as the function Fastify makes of one (its types take no number). */
function fastifyTrustProxy(
  trust: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}

/** The HTTP surface; everything it needs comes in through `deps` (tested with `inject()`). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as Fastify's logger interface so the instance type stays the default one plugins expect.
  const loggerInstance: FastifyBaseLogger = deps.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // 1 MiB for every route; a route that takes uploads raises its own (drift references: 64 MiB).
    bodyLimit: 1024 * 1024,
    // Fastify answers 414 to a path parameter over 100 characters: a model id as long as the
    // collectors accept could not be queried.
    routerOptions: { maxParamLength: MAX_EVENT_ID_LENGTH },
    genReqId: () => randomUUID(),
    trustProxy: fastifyTrustProxy(deps.trustProxy ?? false),
    frameworkErrors: (error, request, reply) => {
      void sendErrorReply(error, request, reply);
    },
    // Query strings and path parameters are text: coerced. Bodies are not (validators.ts).
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: uncoercedBodies } },
    schemaErrorFormatter: formatValidationErrors,
  });
  app.setErrorHandler((error, request, reply) => sendErrorReply(error, request, reply));
  app.setNotFoundHandler((request, reply) => sendNotFound(request, reply));
  // First hook, so every answer (401s from the auth hook too) carries the id the logs use.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onRequest', refuseUnrecordedMethod);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'modelwatch', version: '1', description: 'Model monitoring and governance API' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  // Before swagger-ui registers its routes, so they are marked public as they are added.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.addHook('onRoute', declareKeyedErrors);
  app.addHook('onRoute', refuseHeadOnExpensive);
  readEmptyJsonAsNoBody(app);
  const throttles = await registerRateLimits(app, deps.rateLimits ?? DEFAULT_RATE_LIMITS);
  await app.register(authPlugin, { keys: deps.keys, throttle: throttles.auth });
  // After the auth hook, so the limit counts by the caller's key.
  app.addHook('onRequest', throttles.expensive);
  await app.register(auditPlugin, { auditor: deps.auditor });
  app.addHook('preValidation', (request, reply, done) => {
    const at = loneSurrogateAt(request.body);
    if (at === undefined) return done();
    void reply.code(400).send(errorBody(400, `${at}: holds a lone surrogate (not Unicode text)`));
  });

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, () => ({ ok: true }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    const checks = await deps.readiness.checks();
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  app.get(
    '/metrics',
    { config: { public: deps.metricsPublic, role: 'viewer' }, schema: { hide: true } },
    async (_request, reply) => {
      return reply.type(deps.registry.contentType).send(await deps.registry.metrics());
    },
  );
  await app.register(
    async (api) => {
      await api.register(keyRoutes(deps.keys));
      for (const routes of deps.routes) await api.register(routes);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
