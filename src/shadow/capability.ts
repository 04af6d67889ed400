import { inference } from '../inference/index.js';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { createShadowFeed, type ShadowFeed } from './feed.js';
import type { LeaseOptions } from './leases.js';
import { shadowRoutes } from './routes.js';
import { shadowMigrations } from './schema.js';
import { ShadowScorer, type ShadowHooks } from './scorer.js';
import { createShadowMetrics } from './shadow-metrics.js';

export interface ShadowCapability extends Capability {
  /** Reads the list of challengers again now (tests, after a registration). */
  refresh(): Promise<void>;
}

export interface ShadowOptions {
  /** Test and benchmark hooks (a slow or failing challenger). @default none */
  hooks?: ShadowHooks | undefined;
  /** How often the challengers are read again. @default 5000 */
  refreshMs?: number | undefined;
  /** Work sharing between instances. @default 4 slots per challenger, 15 s leases */
  leases?: LeaseOptions | undefined;
}

/** The shadow scoring capability with options; the service uses `shadow` (none). */
export function createShadow(options: ShadowOptions = {}): CapabilityDefinition<ShadowCapability> {
  return {
    name: 'shadow',
    migrations: shadowMigrations,
    benches: {
      shadow: {
        summary: 'shadow scoring: rows/s end to end (Kafka → shadow_scores) beside the inference core alone',
        load: async () => (await import('./bench.js')).shadowBench,
      },
      'shadow-steps': {
        summary:
          'the shadow feed’s steps on stored rows: CPU s per 100,000 rows for the batch query, JavaScript, core, insert',
        load: async () => (await import('./bench-steps.js')).shadowStepsBench,
      },
    },
    create(platform, use) {
      const { config } = platform;
      const registry = use(models).registry;
      const scorer = new ShadowScorer({
        core: use(inference).core,
        artifacts: use(models).artifacts,
        metrics: createShadowMetrics(platform.registry),
        logger: platform.logger.child({ component: 'shadow' }),
        hooks: options.hooks,
      });
      const feed: ShadowFeed = createShadowFeed({
        db: platform.db,
        registry,
        scorer,
        logger: platform.logger.child({ component: 'shadow' }),
        refreshMs: options.refreshMs,
        leases: options.leases,
        idleMs: config.ingest.batchMaxMs,
      });
      let joined = false;
      return {
        routes: shadowRoutes({ db: platform.db, models: registry }),
        refresh: () => feed.refresh(),
        async start() {
          await feed.start();
          joined = true;
        },
        stop: () => feed.stop(),
        ready: () => ({ shadow: joined && !feed.degraded }),
      };
    },
  };
}

/** Shadow scoring (SPEC 7): every prediction scored by each `shadow` version, off the ingest path. */
export const shadow = createShadow();
