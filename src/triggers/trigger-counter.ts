/**
 * `modelwatch_retrain_triggers_total{model,reason}` (SPEC 10). A counter series that first appears
 * at 1 has no increase() in Prometheus, so a model's first trigger of a reason (with cooldowns of
 * days, nearly every trigger in a process's life) would chart as 0. Each reason a model's retrain
 * policy enables is therefore exposed at 0 from the evaluator's first read of that policy (each
 * run re-reads it, so a reason added later gets its series too).
 */
import { Counter, type Registry } from 'prom-client';
import { retrainPolicySchema, type RetrainPolicy } from './engine/policy.js';
import type { Reason } from './engine/trigger.js';
import type { PolicySource } from './service/evaluator.js';

/** The policy key that enables each reason (a new reason must say which). */
const POLICY_KEY: Record<Reason, keyof RetrainPolicy> = {
  drift: 'drift',
  performance: 'performance',
  quality: 'quality',
  segment: 'segments',
  loss_change: 'loss_change',
};

export function enabledReasons(policy: RetrainPolicy): Reason[] {
  return (Object.keys(POLICY_KEY) as Reason[]).filter((reason) => policy[POLICY_KEY[reason]] !== undefined);
}

export interface TriggerCounter {
  /** The evaluator's policy source: each policy read puts its model's enabled reasons at 0 if unseen. */
  seeing(policies: PolicySource): PolicySource;
  published(trigger: { model_id: string; reason: Reason }): void;
}

export function createTriggerCounter(registry: Registry): TriggerCounter {
  const counter = new Counter({
    name: 'modelwatch_retrain_triggers_total',
    help: "Retrain triggers published to the retrain topic, by model and reason (once per trigger_id; each reason of a model's retrain policy starts at 0)",
    labelNames: ['model', 'reason'],
    registers: [registry],
  });
  return {
    seeing: (policies) => ({
      async get(modelId) {
        const policy = await policies.get(modelId);
        const parsed = retrainPolicySchema.safeParse(policy?.sections['retrain']);
        // inc by 0 creates a missing series and leaves an existing one as it is.
        if (parsed.success)
          for (const reason of enabledReasons(parsed.data)) counter.inc({ model: modelId, reason }, 0);
        return policy;
      },
    }),
    published(trigger) {
      counter.inc({ model: trigger.model_id, reason: trigger.reason });
    },
  };
}
