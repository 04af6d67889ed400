/**
 * The drift capability: the routes and the evaluator loop share one DriftService (and so one
 * reference cache).
 */
import type { z } from 'zod';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { driftRoutes } from './api/routes.js';
import type { ReportPerformanceProvider } from './report/index.js';
import { DriftService } from './service/drift-service.js';
import { reportWithDistributions } from './service/report-distributions.js';
import { DriftEvaluator } from './service/evaluator.js';
import { createDriftGauges } from './service/gauges.js';
import { driftMigrations } from './store/schema.js';
import { PolicyStore } from './store/policies.js';
import { createQualityGauges, type QualityGauges } from './quality/gauges.js';
import { restoreQualityGauges } from './quality/restore.js';
import { qualityRoutes } from './quality/routes.js';
import { QualityService } from './quality/service.js';
import { qualityPolicySchema } from './quality/settings.js';
import { qualityForReport } from './quality/report-section.js';
import { qualityMigrations, readQualityWindows } from './quality/store.js';
import { segmentMigrations, segmentsPolicySchema } from '../segments/index.js';
import { SegmentedAnalysis } from './segments/segmented.js';
import { SegmentEvaluator } from './segments/evaluator.js';
import { createSegmentGauges } from './segments/gauges.js';
import { refusedWindowMigrations } from './segments/refused-windows.js';
import { segmentStoreMigrations } from './segments/store.js';
import { WalkPool } from './walks/walk-pool.js';

export interface DriftCapability extends Capability {
  service: DriftService;
  policies: PolicyStore;
  evaluator: DriftEvaluator;
  /** Data quality per window and column, evaluated with drift's windows (quality/README.md). */
  quality: QualityService;
  /** Per-segment windows of the declared segmentations, stored as windows close (src/segments/README.md). */
  segmentEvaluator: SegmentEvaluator;
  /**
   * Adds a section to `PUT /models/:model/policy` (e.g. `retrain`), validated by its schema. Call
   * it from another capability's `create`: routes are mounted after every capability is built.
   */
  addPolicySection(name: string, schema: z.ZodType): void;
  /**
   * Gives the HTML drift report route its estimated-performance section (performance estimation
   * depends on drift, so it hands its estimate in here rather than drift importing it). Call it
   * from another capability's `create`.
   */
  setReportPerformance(provider: ReportPerformanceProvider): void;
}

/** The model's latest stored quality window of every version (another instance's too). */
async function showStoredQuality(db: Database, gauges: QualityGauges, modelId: string): Promise<void> {
  for (const latest of await readQualityWindows(db, { modelId, limit: 1 }))
    gauges.show({ modelId, version: latest.version }, latest);
}

/** Data drift (SPEC 5): references, the drift route, the evaluation-window loop, the offline report. */
export const drift: CapabilityDefinition<DriftCapability> = {
  name: 'drift',
  migrations: [
    ...driftMigrations,
    ...qualityMigrations,
    ...segmentMigrations,
    ...segmentStoreMigrations,
    ...refusedWindowMigrations,
  ],
  commands: {
    drift: {
      summary:
        'offline drift report between two CSV, JSONL or Parquet files: drift --reference FILE --current FILE',
      load: async () => (await import('./offline/command.js')).driftCommand,
    },
  },
  benches: {
    drift: {
      summary:
        'drift of one window, every method: --rows R (reference and current, default 1000000) --features N (default 100)',
      load: async () => (await import('./bench.js')).driftBench,
    },
  },
  create({ db, registry, logger: root, config }, use) {
    const logger = root.child({ component: 'drift' });
    const policies = new PolicyStore(db);
    const walks = WalkPool.create();
    const service = new DriftService({
      db,
      models: use(models).registry,
      policies,
      logger,
      limits: config.drift,
      walks,
    });
    const quality = new QualityService({ db, drift: service, policies, logger });
    const qualityGauges = createQualityGauges(registry);
    // The collectors' future skew: events stamped later than their ingest time plus it do not move the watermark.
    const evaluator = new DriftEvaluator({
      db,
      service,
      gauges: createDriftGauges(registry),
      logger,
      maxFutureSkewMs: config.ingest.maxFutureSkewMs,
      windowHooks: [
        async (key, reference, settings, range) => {
          const buckets = await quality.evaluateAndStore(key, reference, settings, range);
          const newest = buckets[buckets.length - 1];
          if (newest) qualityGauges.show(key, newest);
        },
      ],
      // Quality is stored with drift's windows, so its gauges are behind exactly when drift's are.
      storedHooks: [(modelId) => showStoredQuality(db, qualityGauges, modelId)],
    });
    const segmented = new SegmentedAnalysis({
      db,
      models: use(models).registry,
      policies,
      logger,
      limits: service.limits,
      drift: service,
      quality,
      segmentMaxMemoryBytes: config.segments.maxMemoryBytes,
    });
    const segmentEvaluator = new SegmentEvaluator({
      db,
      drift: service,
      segmented,
      models: use(models).registry,
      policies,
      gauges: createSegmentGauges(registry),
      logger,
      maxFutureSkewMs: config.ingest.maxFutureSkewMs,
    });
    const policySections: Record<string, z.ZodType> = {
      quality: qualityPolicySchema,
      segments: segmentsPolicySchema,
    };
    let reportPerformance: ReportPerformanceProvider | undefined;
    return {
      service,
      policies,
      evaluator,
      quality,
      segmentEvaluator,
      routes: async (app) => {
        await app.register(
          driftRoutes({
            service,
            policies,
            policySections,
            report: (request) => reportWithDistributions(service, db, request),
            performance: (request) => reportPerformance?.(request) ?? Promise.resolve(null),
            quality: (request) => qualityForReport(quality, request),
            segmented,
          }),
        );
        await app.register(qualityRoutes({ service: quality, segmented }));
      },
      addPolicySection: (name, schema) => {
        policySections[name] = schema;
      },
      setReportPerformance: (provider) => {
        reportPerformance = provider;
      },
      start: () => {
        void restoreQualityGauges(db, qualityGauges).catch((err: unknown) =>
          logger.warn({ err }, 'quality gauges could not be restored from stored windows'),
        );
        evaluator.start();
        segmentEvaluator.start();
      },
      stop: async () => {
        await segmentEvaluator.stop();
        await evaluator.stop();
        await walks?.close();
      },
    };
  },
};
