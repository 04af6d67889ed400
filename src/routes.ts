import type { FastifyPluginAsync } from 'fastify';
import { driftRoutes } from './drift/index.js';
import { metricsRoutes } from './metrics/index.js';
import { modelRoutes } from './models/index.js';
import type { ServiceDeps } from './service/index.js';

/** Every capability's API routes, mounted under /api/v1. */
export function serviceRoutes(deps: ServiceDeps): FastifyPluginAsync[] {
  return [modelRoutes(deps), metricsRoutes(deps), driftRoutes(deps.drift)];
}
