import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

const T0 = Date.UTC(2026, 4, 1);
const DAY = 86_400_000;

/** MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES reaches every route that chooses segments. */
describe('the segment reads’ memory bound from the environment', () => {
  it('refuses a key with a value per prediction on the metrics, drift and quality routes, and answers without it', async () => {
    const service = await startTestService({ MODELWATCH_SEGMENTS_MAX_MEMORY_BYTES: String(1024 ** 2) });
    await service.platform.db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, is_error, tags)
        SELECT 'mem', '1', toString(number), fromUnixTimestamp64Milli(${T0} + number, 'UTC'), '1', false,
               map('req', concat('request-', leftPad(toString(number), 32, '0'))) FROM numbers(100000)`,
    });
    await service
      .use(models)
      .registry.registerSeen([{ modelId: 'mem', version: '1', task: 'regression', firstSeen: T0 }]);
    const rows = Array.from({ length: 20 }, (_, i) => ({ prediction: i % 2 }));
    expect((await send(service, 'PUT', '/api/v1/models/mem/versions/1/reference', { rows })).status).toBe(
      200,
    );
    const range = `from=${T0}&to=${T0 + DAY}&bucket=1d`;
    for (const route of ['metrics', 'drift', 'quality']) {
      const refused = await service.get(`/api/v1/models/mem/${route}?${range}&segment=tag:req`);
      expect(refused.status, route).toBe(400);
      expect((refused.body as { message: string }).message, route).toContain(
        'too many distinct values for a segment',
      );
    }
    const plain = await service.get(`/api/v1/models/mem/metrics?${range}`);
    expect(plain.status).toBe(200);
    // Change detection reads one value's totals only (no table of every value): within the bound.
    const value = `request-${'0'.repeat(32)}`;
    const one = await service.get(
      `/api/v1/models/mem/change-detection?from=${T0}&to=${T0 + DAY}&segment=tag:req&value=${value}`,
    );
    expect(one.status).toBe(200);
  });
});
