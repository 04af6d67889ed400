/**
 * The drift capability, built once by the composition root: the routes and the evaluator loop
 * share one DriftService (and so one reference cache).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { ModelRegistry } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import type { Logger } from '../platform/observability/index.js';
import { driftRoutes as buildRoutes } from './api/routes.js';
import { DriftService } from './service/drift-service.js';
import { DriftEvaluator } from './service/evaluator.js';
import { createDriftGauges } from './service/gauges.js';
import { PolicyStore } from './store/policies.js';

export interface DriftDeps {
  db: Database;
  models: ModelRegistry;
  logger: Logger;
  registry: Registry;
}

export interface DriftCapability {
  service: DriftService;
  policies: PolicyStore;
  evaluator: DriftEvaluator;
}

export function createDriftCapability(deps: DriftDeps): DriftCapability {
  const logger = deps.logger.child({ component: 'drift' });
  const policies = new PolicyStore(deps.db);
  const service = new DriftService({ db: deps.db, models: deps.models, policies, logger });
  const evaluator = new DriftEvaluator({ db: deps.db, service, gauges: createDriftGauges(deps.registry), logger });
  return { service, policies, evaluator };
}

/** The drift routes of a service; `policySections` adds policy sections owned elsewhere (e.g. `retrain`). */
export function driftRoutes(capability: DriftCapability, policySections?: Record<string, z.ZodType>): FastifyPluginAsync {
  return buildRoutes({ service: capability.service, policies: capability.policies, policySections });
}
