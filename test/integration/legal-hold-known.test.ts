/**
 * A legal hold names a model retention would otherwise delete from: one with a registered version,
 * or with only access events, labels or audit records (a model seen only in access logs). A name
 * that has none of these is a 404 (a misspelt one answered 200 and held nothing), however often
 * it is asked for: the audit records of those calls name it, but do not make it known.
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
    const refused = async () => {
      const typo = await hold('fraud-scrorer');
      return [typo.statusCode, typo.json<{ message: string }>().message];
    };
    expect((await service.get('/api/v1/models/fraud-scrorer/metrics')).status).toBe(404);
    expect(await refused()).toEqual([404, "unknown model 'fraud-scrorer'"]);
    // Regression: each call's audit record names the model of its path, and counted as the model's
    // own records, so the retry of the refused hold was taken (200) and held a misspelt name.
    const calls = await waitFor('the calls on the misspelt model chained', async () => {
      const rows = await service.rows<{ action: string }>(
        "SELECT action FROM audit_events WHERE model_id = 'fraud-scrorer' AND kind = 'api'",
      );
      return rows.length >= 2 ? rows.map((r) => r.action).sort() : undefined;
    });
    expect(calls).toEqual(['GET /api/v1/models/:model/metrics', 'PUT /api/v1/models/:model/legal-hold']);
    expect(await refused()).toEqual([404, "unknown model 'fraud-scrorer'"]);
  }, 60_000);
});
