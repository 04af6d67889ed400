import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../../src/drift/api/policy-routes.js';
import {
  driftPolicySchema,
  driftSettings,
  effectiveDriftPolicy,
} from '../../../src/drift/engine/settings.js';

describe('drift policy', () => {
  it('fills every default', () => {
    expect(effectiveDriftPolicy()).toEqual({
      method: 'auto',
      columns: {},
      thresholds: { ks: 0.05, chi2: 0.05, wasserstein: 0.1, psi: 0.1, jensenshannon: 0.1 },
      dataset_drift_share: 0.5,
      evaluation_window: '1h',
      allowed_lateness: '5m',
    });
    const settings = driftSettings({
      evaluation_window: '1d',
      allowed_lateness: '30s',
      thresholds: { psi: 0.2 },
    });
    expect(settings.evaluationWindow).toMatchObject({ text: '1d', size: 86_400_000 });
    expect(settings.allowedLatenessMs).toBe(30_000);
    expect(settings.thresholds).toMatchObject({ psi: 0.2, ks: 0.05 });
  });

  it('rejects unknown fields, naming them', () => {
    const result = driftPolicySchema.safeParse({
      method: 'ks',
      windows: '1h',
      columns: { age: { kind: 'numerical', treshold: 0.2 } },
    });
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!, 'body.drift')).toBe(
      "body.drift.columns.age: unknown field 'treshold'; body.drift: unknown field 'windows'",
    );
  });

  it('rejects bad values with the field path', () => {
    const issues = (policy: unknown) => {
      const r = driftPolicySchema.safeParse(policy);
      return r.success ? '' : describeIssues(r.error, 'body.drift');
    };
    expect(issues({ columns: { c: { kind: 'categorical', method: 'ks' } } })).toBe(
      'body.drift.columns.c.method: ks does not apply to categorical columns',
    );
    expect(issues({ thresholds: { ks: 1.5 } })).toBe(
      'body.drift.thresholds.ks: a p-value threshold must be at most 1',
    );
    expect(issues({ columns: { c: { method: 'chi2', threshold: 2 } } })).toBe(
      'body.drift.columns.c.threshold: chi2 compares a p-value: the threshold must be at most 1',
    );
    expect(issues({ dataset_drift_share: 0 })).toBe('body.drift.dataset_drift_share: must be above 0');
    expect(issues({ evaluation_window: '2w' })).toMatch(/^body\.drift\.evaluation_window: expected/);
    expect(issues({ allowed_lateness: '5 minutes' })).toMatch(/^body\.drift\.allowed_lateness: expected/);
    expect(issues({ method: 'mmd' })).toMatch(/^body\.drift\.method: /);
  });
});
