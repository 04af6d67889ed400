/**
 * Performance estimation before labels arrive (SPEC 4.1): NannyML's CBPE for binary classifiers,
 * calibrated per version on its drift reference period.
 */
import { drift } from '../drift/index.js';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { estimationRoutes } from './api/routes.js';
import { CalibrationPool } from './calibration/fit-pool.js';
import { EstimationGauges } from './service/gauges.js';
import { EstimationService } from './service/estimation-service.js';
import { reportPerformance } from './service/report-section.js';
import { estimationMigrations } from './store/schema.js';

export interface EstimationCapability extends Capability {
  service: EstimationService;
  gauges: EstimationGauges;
}

export const performanceEstimation: CapabilityDefinition<EstimationCapability> = {
  name: 'performance-estimation',
  migrations: estimationMigrations,
  create({ db, registry, logger: root }, use) {
    const logger = root.child({ component: 'performance-estimation' });
    const versions = use(models).registry;
    const driftCapability = use(drift);
    const calibrationPool = CalibrationPool.create();
    const service = new EstimationService({
      db,
      models: versions,
      drift: driftCapability.service,
      calibrationPool,
    });
    const gauges = new EstimationGauges({ service, models: versions, registry, logger });
    driftCapability.setReportPerformance((request) => reportPerformance(service, request));
    return {
      service,
      gauges,
      routes: estimationRoutes({ service }),
      start: () => gauges.start(),
      async stop() {
        await gauges.stop();
        // Background refits are not awaited by their callers: a fit on the worker ends with the
        // pool (and a later one is refused), then the fits still reading or writing ClickHouse are
        // waited for, since it closes after this.
        await calibrationPool?.close();
        await service.calibrators.settled();
      },
    };
  },
};
