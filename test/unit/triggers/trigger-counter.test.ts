import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTriggerCounter, enabledReasons } from '../../../src/triggers/trigger-counter.js';
import { REASONS } from '../../../src/triggers/engine/trigger.js';

// Prometheus' increase() over a series that first appears at 1 is 0: the "Retrain triggers" panel
// showed nothing for a model's first trigger of a reason. The series must be scraped at 0 first.

const policies = (sections: Record<string, Record<string, unknown>>) => ({
  get: (modelId: string) => Promise.resolve(sections[modelId] && { sections: sections[modelId] }),
});

describe('retrain trigger counter', () => {
  it('exposes each enabled reason of a model at 0 once its policy is read, before any trigger', async () => {
    const registry = new Registry();
    const counter = createTriggerCounter(registry);
    const source = counter.seeing(
      policies({
        credit: { retrain: { drift: { dataset_drift: true }, quality: { columns: ['age'] } }, drift: {} },
        other: { drift: {} },
      }),
    );
    await source.get('credit');
    await source.get('other');
    const text = await registry.metrics();
    expect(text).toContain('modelwatch_retrain_triggers_total{model="credit",reason="drift"} 0');
    expect(text).toContain('modelwatch_retrain_triggers_total{model="credit",reason="quality"} 0');
    expect(text).not.toContain('reason="performance"');
    expect(text).not.toContain('model="other"');
    counter.published({ model_id: 'credit', reason: 'drift' });
    await source.get('credit');
    expect(await registry.metrics()).toContain(
      'modelwatch_retrain_triggers_total{model="credit",reason="drift"} 1',
    );
  });

  it('passes the policy through unchanged, and an invalid retrain section adds no series', async () => {
    const registry = new Registry();
    const counter = createTriggerCounter(registry);
    const sections = { retrain: { cooldown: '1d' } };
    expect(await counter.seeing(policies({ m: sections })).get('m')).toEqual({ sections });
    expect(await registry.metrics()).not.toContain('model="m"');
  });

  it('maps every reason to a policy key', () => {
    expect(
      enabledReasons({
        drift: {},
        performance: { metric: 'accuracy', min: 0.5 },
        quality: {},
        segments: [{ segment: 'feature:region' }],
        loss_change: {},
      } as never).sort(),
    ).toEqual([...REASONS].sort());
  });
});
