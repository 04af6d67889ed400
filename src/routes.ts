import type { FastifyPluginAsync } from 'fastify';
import type { ServiceDeps } from './service/index.js';

/** Every capability's API routes, mounted under /api/v1. */
export function serviceRoutes(_deps: ServiceDeps): FastifyPluginAsync[] {
  return [];
}
