import { describe, expect, it } from 'vitest';
import { versionSeries } from '../../../src/collectors/ingest-metrics.js';

describe('series per model version (labels from the events)', () => {
  it('are the pair’s own up to the cap, then its model’s `other`, or `other` for a model never seen', () => {
    const labels = versionSeries(3);
    expect(labels('m', '1')).toEqual({ model: 'm', version: '1' });
    expect(labels('m', '2')).toEqual({ model: 'm', version: '2' });
    expect(labels('n', '1')).toEqual({ model: 'n', version: '1' });
    // The cap is reached: a known pair keeps its series, a new one goes to `other`.
    expect(labels('m', '1')).toEqual({ model: 'm', version: '1' });
    expect(labels('m', 'build-8f3a')).toEqual({ model: 'm', version: 'other' });
    expect(labels('x', '1')).toEqual({ model: 'other', version: 'other' });
    const many = new Set(
      Array.from({ length: 10_000 }, (_, i) => JSON.stringify(labels(`model-${i % 7}`, `v${i}`))),
    );
    expect(many).toEqual(new Set([JSON.stringify({ model: 'other', version: 'other' })]));
  });
});
