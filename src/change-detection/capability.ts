/**
 * Change detection on the error stream: Page-Hinkley over each labeled prediction's loss, in
 * event-time order (README.md). Its parameters are the `change_detection` section of the
 * model's policy, kept by drift's policy store.
 */
import { defaultVersion, drift } from '../drift/index.js';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { ChangeGauges } from './gauges.js';
import { changeDetectionRoutes } from './routes.js';
import { ChangeDetectionService } from './service.js';
import { changeDetectionPolicySchema } from './settings.js';

export interface ChangeDetectionCapability extends Capability {
  service: ChangeDetectionService;
  gauges: ChangeGauges;
}

export const changeDetection: CapabilityDefinition<ChangeDetectionCapability> = {
  name: 'change-detection',
  benches: {
    'change-detection': {
      summary:
        "Page-Hinkley's detection delay and false alarms on generated loss streams (--runs N, default 100); `bench` without a name sets them beside River's figures on the same streams",
      load: async () => (await import('./bench.js')).changeDetectionBench,
    },
  },
  create({ config, db, registry, logger: root }, use) {
    const logger = root.child({ component: 'change-detection' });
    const driftCapability = use(drift);
    driftCapability.addPolicySection('change_detection', changeDetectionPolicySchema);
    /** The stored section; undefined when the model has none, `{}` when it no longer validates. */
    const section = async (modelId: string) => {
      const stored = (await driftCapability.policies.get(modelId))?.sections['change_detection'];
      if (stored === undefined) return undefined;
      const parsed = changeDetectionPolicySchema.safeParse(stored);
      if (parsed.success) return parsed.data;
      logger.warn({ model: modelId }, 'stored change_detection policy no longer validates; using defaults');
      return {};
    };
    const versions = use(models).registry;
    const service = new ChangeDetectionService({
      db,
      models: versions,
      defaultVersion,
      policy: async (modelId) => (await section(modelId)) ?? {},
      segmentMaxMemoryBytes: config.segments.maxMemoryBytes,
    });
    const gauges = new ChangeGauges({ service, models: versions, policy: section, registry, logger });
    return {
      service,
      gauges,
      routes: changeDetectionRoutes({ service }),
      start: () => gauges.start(),
      stop: () => gauges.stop(),
    };
  },
};
