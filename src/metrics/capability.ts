import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { createQualityGauges, type QualityGauges } from './quality-gauges.js';
import { metricsRoutes } from './routes.js';
import { metricsMigrations } from './schema.js';

export interface MetricsCapability extends Capability {
  /** The `model_quality` gauges (tests refresh them instead of waiting for the loop). */
  quality: QualityGauges;
}

/** Serving and quality metrics (SPEC 4): the metrics route and the `model_quality` gauges. */
export const metrics: CapabilityDefinition<MetricsCapability> = {
  name: 'metrics',
  migrations: metricsMigrations,
  benches: {
    metrics: {
      summary:
        'metrics route over a month of predictions, cached beside uncached (--rows N, default 10,000,000; --labeled 0.3; --warm 3; --raw 1 also times the read-time join; --optimize 0 skips the merged phase; --data-dir DIR keeps and reuses the data)',
      load: async () => (await import('./bench.js')).metricsBench,
    },
    'metrics-api': {
      summary:
        'concurrent GET …/metrics through the API, one engine connection vs the pool (--rows N, --labeled 0..1, --concurrency N, --single N, --rounds N, --only before|after, --connections N, --max-threads N)',
      load: async () => (await import('./concurrency-bench.js')).metricsApiBench,
    },
  },
  create({ config, db, registry, logger }, use): MetricsCapability {
    const versions = use(models).registry;
    const quality = createQualityGauges({
      db,
      models: versions,
      registry,
      logger,
      labelDelayMs: config.metrics.qualityLabelDelayMs,
    });
    return {
      quality,
      routes: metricsRoutes({ db, models: versions, segmentMaxMemoryBytes: config.segments.maxMemoryBytes }),
      start: () => quality.start(),
      stop: () => quality.stop(),
    };
  },
};
