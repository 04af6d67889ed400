/** Retrain triggers (SPEC 6): policy section, evaluation, outbox, exactly-once publishing, list route. */
export { triggers, type TriggersCapability } from './capability.js';
export {
  retrainPolicySchema,
  retrainRules,
  RETRAIN_METRICS,
  type RetrainPolicy,
  type RetrainRules,
} from './engine/policy.js';
export { triggerId, REASONS, type Reason, type TriggerPayload, type Firing } from './engine/trigger.js';
export { partitionOf } from './publish/partition.js';
export { TRIGGER_ID_HEADER, TriggerPublisher } from './publish/publisher.js';
export { TriggerEvaluator, LOOKBACK_WINDOWS } from './service/evaluator.js';
export { TriggerStore, type ListedTrigger } from './store/triggers.js';
