import { describe, expect, it } from 'vitest';
import { checkPrediction, limitViolation, MAX_TAGS } from '../../../src/collectors/validation.js';

const base = {
  prediction_id: 'p-1',
  model_id: 'm',
  model_version: '1',
  timestamp: '2026-11-25T10:00:00Z',
  features: { a: 1 },
  prediction: 1,
};
const limits = { maxFeatures: 1000, maxFeatureNameLength: 256 };

describe('prediction tags', () => {
  it('accepts flat texts and no tags at all', () => {
    expect(checkPrediction({ ...base, tags: { channel: 'web', region: 'north' } }).ok).toBe(true);
    expect(checkPrediction({ ...base }).ok).toBe(true);
    expect(checkPrediction({ ...base, tags: null }).ok).toBe(true);
  });

  it('refuses a tag that is not text, a nested object, an empty or long name, a long value, naming the field', () => {
    const detail = (tags: unknown) => {
      const checked = checkPrediction({ ...base, tags });
      if (checked.ok) throw new Error(`accepted ${JSON.stringify(tags).slice(0, 60)}`);
      return checked.detail;
    };
    expect(detail({ channel: 5 })).toMatch(/^tags\.channel/);
    expect(detail({ channel: { deep: 'x' } })).toMatch(/^tags\.channel/);
    expect(detail('web')).toMatch(/^tags/);
    expect(detail({ '': 'x' })).toMatch(/^tags/);
    expect(detail({ ['n'.repeat(257)]: 'x' })).toMatch(/^tags/);
    expect(detail({ channel: 'v'.repeat(1025) })).toMatch(/^tags\.channel/);
  });

  it(`refuses more than ${MAX_TAGS} tags after the schema, as a limit`, () => {
    const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`t${i}`, 'x']));
    const checked = checkPrediction({ ...base, tags: many });
    expect(checked.ok).toBe(true);
    if (!checked.ok) return;
    expect(limitViolation(checked.event, limits)).toBe(`tags: more than ${MAX_TAGS} tags`);
    const enough = Object.fromEntries(Array.from({ length: MAX_TAGS }, (_, i) => [`t${i}`, 'x']));
    const fine = checkPrediction({ ...base, tags: enough });
    expect(fine.ok && limitViolation(fine.event, limits)).toBeUndefined();
  });
});
