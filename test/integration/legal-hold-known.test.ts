/**
 * A legal hold names a model retention would otherwise delete from: one with a registered version,
 * or with only access events, labels or audit records (a model seen only in access logs). A name
 * that has none of these is a 404 (a misspelt one answered 200 and held nothing).
 */
import { describe, expect, it } from 'vitest';
import { accessEvent } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';

describe('a legal hold on a model', () => {
  it('is taken for a model known only from its access events, and refused for a name never seen', async () => {
    const service = await startTestService();
    await produce(service.config.topics.accessLog, [accessEvent(1, { model_id: 'fraud-scorer' })]);
    await waitFor('the access event chained', async () =>
      (await service.rows("SELECT 1 FROM audit_events WHERE model_id = 'fraud-scorer'")).length > 0
        ? true
        : undefined,
    );
    const hold = (model: string) =>
      service.app.inject({
        method: 'PUT',
        url: `/api/v1/models/${model}/legal-hold`,
        headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
        payload: { reason: 'case 2026-17' },
      });
    expect((await hold('fraud-scorer')).statusCode).toBe(200);
    const typo = await hold('fraud-scrorer');
    expect([typo.statusCode, typo.json<{ message: string }>().message]).toEqual([
      404,
      "unknown model 'fraud-scrorer'",
    ]);
  }, 60_000);
});
