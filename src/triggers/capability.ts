/**
 * Retrain triggers (SPEC 6): the `retrain` policy section, the evaluation loop, the outbox and the
 * publisher that owns the retrain topic's partitions, the list route and the trigger counter.
 */
import { drift } from '../drift/index.js';
import { models } from '../models/index.js';
import { performanceEstimation } from '../performance-estimation/index.js';
import { changeDetection } from '../change-detection/index.js';
import type { Capability, CapabilityDefinition } from '../platform/capability/index.js';
import { triggerRoutes } from './api/routes.js';
import { audit } from '../audit/index.js';
import { auditTriggers } from './audit.js';
import { retrainPolicySchema } from './engine/policy.js';
import { TriggerPublisher } from './publish/publisher.js';
import { TriggerEvaluator } from './service/evaluator.js';
import { triggerMigrations } from './store/schema.js';
import { TriggerStore } from './store/triggers.js';
import { createTriggerCounter } from './trigger-counter.js';

export interface TriggersCapability extends Capability {
  store: TriggerStore;
  evaluator: TriggerEvaluator;
  publisher: TriggerPublisher;
}

export const triggers: CapabilityDefinition<TriggersCapability> = {
  name: 'triggers',
  migrations: triggerMigrations,
  create({ config, db, kafka, registry, logger: root }, use) {
    const logger = root.child({ component: 'triggers' });
    const driftCapability = use(drift);
    driftCapability.addPolicySection('retrain', retrainPolicySchema);
    const store = new TriggerStore(db);
    const counter = createTriggerCounter(registry);
    const writeAudit = auditTriggers(use(audit).recorder);
    const publisher = new TriggerPublisher({
      kafka,
      store,
      topic: config.topics.retrain,
      groupId: `${config.ingest.consumerGroup}-retrain-publisher`,
      logger,
      sessionTimeoutMs: config.ingest.sessionTimeoutMs,
      intervalMs: config.retrain.intervalMs,
      publishDelayMs: config.retrain.publishDelayMs,
      onPublished: writeAudit,
      // Counted once its audit is recorded: an audit retried after a failed record counts once.
      onAudited: (payload) => counter.published(payload),
    });
    const modelRegistry = use(models).registry;
    const evaluator = new TriggerEvaluator({
      db,
      store,
      models: modelRegistry,
      policies: counter.seeing(driftCapability.policies),
      drift: driftCapability.service,
      estimates: use(performanceEstimation).service,
      changes: use(changeDetection).service,
      logger,
      intervalMs: config.retrain.intervalMs,
      referenceRefreshMs: config.retrain.referenceRefreshMs,
      maxFutureSkewMs: config.ingest.maxFutureSkewMs,
      onStored: () =>
        void publisher
          .kick()
          .catch((err: unknown) =>
            logger.warn({ err: String(err) }, 'retrain trigger publishing failed; retrying'),
          ),
    });
    return {
      store,
      evaluator,
      publisher,
      routes: triggerRoutes(store, modelRegistry),
      async start() {
        await publisher.start();
        evaluator.start();
      },
      async stop() {
        await evaluator.stop();
        await publisher.stop();
      },
      ready: () => ({ retrain_publisher: publisher.running }),
    };
  },
};
