/**
 * Change detection on the error stream: Page-Hinkley over each labeled prediction's loss, in
 * event-time order (README.md). Its parameters are the `change_detection` section of the
 * model's policy, kept by drift's policy store.
 */
import { defaultVersion, drift } from '../drift/index.js';
import { models } from '../models/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { changeDetectionRoutes } from './routes.js';
import { ChangeDetectionService } from './service.js';
import { changeDetectionPolicySchema } from './settings.js';

export interface ChangeDetectionCapability extends Capability {
  service: ChangeDetectionService;
}

export const changeDetection: CapabilityDefinition<ChangeDetectionCapability> = {
  name: 'change-detection',
  benches: {
    'change-detection': {
      summary:
        "Page-Hinkley's detection delay and false alarms on generated loss streams (--runs N, default 100), beside River's figures",
      load: async () => (await import('./bench.js')).changeDetectionBench,
    },
  },
  create({ db, logger: root }, use) {
    const logger = root.child({ component: 'change-detection' });
    const driftCapability = use(drift);
    driftCapability.addPolicySection('change_detection', changeDetectionPolicySchema);
    const service = new ChangeDetectionService({
      db,
      models: use(models).registry,
      defaultVersion,
      policy: async (modelId) => {
        const stored = await driftCapability.policies.get(modelId);
        const parsed = changeDetectionPolicySchema.safeParse(stored?.sections['change_detection'] ?? {});
        if (parsed.success) return parsed.data;
        logger.warn({ model: modelId }, 'stored change_detection policy no longer validates; using defaults');
        return {};
      },
    });
    return { service, routes: changeDetectionRoutes({ service }) };
  },
};
