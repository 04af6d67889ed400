import { describe, expect, it } from 'vitest';
import type { QualityBucket } from '../../src/drift/quality/types.js';
import { produce, waitFor } from '../support/harness.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 3, 1);
const HOUR = 3_600_000;

describe('data quality of a numeric category', () => {
  it('reads -0 as the category 0 (as drift does), not as an unseen one', async () => {
    const service = await startTestService();
    // Raw JSON: JSON.stringify would write -0 as 0. A Python producer writes -0.0 (round(-0.0001, 2)).
    const predictions = Array.from(
      { length: 20 },
      (_, i) =>
        `{"prediction_id":"z-${i}","model_id":"nz","model_version":"1","timestamp":${T0 + i * 60_000},` +
        `"features":{"n":${i % 2 === 0 ? '-0.0' : '1'}},"prediction":1}`,
    );
    await produce(service.config.topics.predictions, predictions, (i) => `z-${i}`);
    await waitFor('the predictions stored', async () => {
      const [row] = await service.rows<{ p: number }>('SELECT count() AS p FROM predictions FINAL');
      return Number(row?.p) === predictions.length ? true : undefined;
    });
    // The -0 arrives as it was sent.
    const [stored] = await service.rows<{ s: string }>(
      "SELECT toString(features_num['n']) AS s FROM predictions FINAL WHERE prediction_id = 'z-0'",
    );
    expect(stored?.s).toBe('-0');
    const reference = Array.from({ length: 40 }, (_, i) => ({ n: i % 2 }));
    expect(
      (await send(service, 'PUT', '/api/v1/models/nz/versions/1/reference', { rows: reference })).status,
    ).toBe(200);
    expect(
      (
        await send(service, 'PUT', '/api/v1/models/nz/policy', {
          drift: { columns: { n: { kind: 'categorical' } } },
        })
      ).status,
    ).toBe(200);
    const response = await send(
      service,
      'GET',
      `/api/v1/models/nz/quality?from=${T0}&to=${T0 + HOUR}&bucket=1h`,
    );
    expect(response.status).toBe(200);
    const [bucket] = (response.body as unknown as { buckets: QualityBucket[] }).buckets;
    expect(bucket!.columns.find((c) => c.column === 'n')).toMatchObject({
      kind: 'categorical',
      values: 20,
      unseen_share: 0,
      top_unseen: [],
      wrong_type_share: 0,
      flags: [],
    });
  });
});
