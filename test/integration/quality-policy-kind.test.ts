import { describe, expect, it } from 'vitest';
import type { QualityBucket } from '../../src/drift/quality/types.js';
import { produce, waitFor } from '../support/harness.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 3, 2);
const HOUR = 3_600_000;

/**
 * The checks that decide `unseen` and `out_of_range` run in SQL on the stored reference, with the
 * kind the drift policy gives each column: a number column made numerical is judged by the
 * reference's range, one made categorical by its categories.
 */
describe('data quality and the drift policy’s column kinds', () => {
  it('judges k by its categories or its range, and x by its range or its categories, as the policy says', async () => {
    const service = await startTestService();
    // Now: k = 5 (inside [1, 300], no reference category), x = 100 (outside [0, 39], no category either).
    const predictions = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        prediction_id: `qk-${i}`,
        model_id: 'qk',
        model_version: '1',
        timestamp: T0 + i * 60_000,
        features: { k: 5, x: 100 },
        prediction: 1,
      }),
    );
    await produce(service.config.topics.predictions, predictions, (i) => `qk-${i}`);
    await waitFor('the predictions stored', async () => {
      const [row] = await service.rows<{ p: number }>(
        "SELECT count() AS p FROM predictions FINAL WHERE model_id = 'qk'",
      );
      return Number(row?.p) === predictions.length ? true : undefined;
    });
    // k: three distinct numbers (categorical by inference); x: 40 distinct (numerical).
    const reference = Array.from({ length: 40 }, (_, i) => ({ k: [1, 2, 300][i % 3], x: i }));
    expect(
      (await send(service, 'PUT', '/api/v1/models/qk/versions/1/reference', { rows: reference })).status,
    ).toBe(200);
    const columns = async () => {
      const response = await send(
        service,
        'GET',
        `/api/v1/models/qk/quality?from=${T0}&to=${T0 + HOUR}&bucket=1h`,
      );
      expect(response.status).toBe(200);
      const [bucket] = (response.body as unknown as { buckets: QualityBucket[] }).buckets;
      return Object.fromEntries(bucket!.columns.map((c) => [c.column, c]));
    };

    const inferred = await columns();
    expect(inferred['k']).toMatchObject({ kind: 'categorical', unseen_share: 1, out_of_range_share: null });
    expect(inferred['k']!.flags).toContain('unseen');
    expect(inferred['x']).toMatchObject({ kind: 'numerical', out_of_range_share: 1, unseen_share: null });
    expect(inferred['x']!.flags).toContain('out_of_range');

    expect(
      (
        await send(service, 'PUT', '/api/v1/models/qk/policy', {
          drift: { columns: { k: { kind: 'numerical' }, x: { kind: 'categorical' } } },
        })
      ).status,
    ).toBe(200);
    const overridden = await columns();
    expect(overridden['k']).toMatchObject({ kind: 'numerical', out_of_range_share: 0, unseen_share: null });
    expect(overridden['k']!.flags).not.toContain('out_of_range');
    expect(overridden['x']).toMatchObject({ kind: 'categorical', unseen_share: 1, out_of_range_share: null });
    expect(overridden['x']!.flags).toContain('unseen');
    expect(overridden['x']!.top_unseen).toEqual([expect.objectContaining({ value: '100' })]);
  });
});
