import { describe, expect, it } from 'vitest';
import { audit, readDigestTopic } from '../../src/audit/index.js';
import { prediction } from '../support/events.js';
import { produce, testKafka, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

async function call(
  service: TestService,
  method: 'GET' | 'PUT' | 'PATCH',
  url: string,
  options: { key?: string; body?: unknown } = {},
) {
  const key = options.key ?? service.config.api.adminKey ?? '';
  const response = await service.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(options.body === undefined ? {} : { payload: options.body as object }),
  });
  return {
    status: response.statusCode,
    text: response.body,
    type: String(response.headers['content-type'] ?? ''),
  };
}

interface Row {
  kind: string;
  principal: string;
  action: string;
  outcome: string;
  record: string;
}

const hasCutParam = (row: Row): boolean => row.action === 'GET /api/v1/models' && row.record.includes('"x":');

describe('audit through the service', () => {
  it('records API calls (denied ones, redacted parameters) and state changes, verifies, exports, publishes digests', async () => {
    const service = await startTestService({ MODELWATCH_AUDIT_BATCH_MAX_MS: '100' });
    await produce(
      service.config.topics.predictions,
      Array.from({ length: 20 }, (_, i) => prediction(i)),
    );
    await waitFor('the model version registered', async () =>
      (await call(service, 'GET', '/api/v1/models')).text.includes('credit-risk') ? true : undefined,
    );

    expect(
      (await call(service, 'GET', '/api/v1/models?api_key=s3cret-value', { key: 'wrong-key-0123456789' }))
        .status,
    ).toBe(401);
    // Cut at 256 this value would end inside the emoji: the call must still be chained, cut cleanly.
    const hostile = encodeURIComponent(`${'a'.repeat(255)}\u{1F600}`);
    expect((await call(service, 'GET', `/api/v1/models?x=${hostile}`)).status).toBe(200);
    expect(
      (
        await call(service, 'PATCH', '/api/v1/models/credit-risk/versions/3', {
          body: { stage: 'production' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call(service, 'PUT', '/api/v1/models/credit-risk/policy', {
          body: { drift: { method: 'psi' } },
        })
      ).status,
    ).toBe(200);
    expect(
      await call(service, 'GET', '/api/v1/audit/events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'),
    ).toMatchObject({ status: 400 });
    // A date without separators is not 20,210,501 ms after 1970 (an empty answer before).
    expect(await call(service, 'GET', '/api/v1/audit/events?from=20210501')).toMatchObject({ status: 400 });

    const rows = await waitFor('the calls and changes chained', async () => {
      const found = await service.rows<Row>(
        "SELECT kind, principal, action, outcome, record FROM audit_events WHERE kind IN ('api', 'change') ORDER BY at",
      );
      const actions = new Set(found.map((r) => r.action));
      return [
        'GET /api/v1/models',
        'model_version.restage',
        'policy.change',
        'GET /api/v1/audit/events',
      ].every((a) => actions.has(a)) && found.some(hasCutParam)
        ? found
        : undefined;
    });
    const denied = rows.find((r) => r.action === 'GET /api/v1/models' && r.outcome === 'denied');
    expect(denied?.principal).toBe('anonymous');
    expect(JSON.parse(denied?.record ?? '{}')).toMatchObject({
      details: { status: 401, params: { api_key: '[redacted]' } },
    });
    expect(JSON.parse(rows.find(hasCutParam)?.record ?? '{}')).toMatchObject({
      principal: 'bootstrap-admin',
      details: { status: 200, params: { x: `${'a'.repeat(255)}…` } },
    });
    expect(rows.map((r) => r.record).join('\n')).not.toContain('s3cret-value');
    expect(rows.map((r) => r.record).join('\n')).not.toContain(service.config.api.adminKey);
    const restage = rows.find((r) => r.action === 'model_version.restage');
    expect(restage).toMatchObject({ kind: 'change', principal: 'bootstrap-admin', outcome: 'allowed' });
    expect(JSON.parse(restage?.record ?? '{}')).toMatchObject({
      resource_id: 'credit-risk/3',
      model_id: 'credit-risk',
      details: { stage: 'production' },
    });
    expect(rows.find((r) => r.action === 'GET /api/v1/audit/events')).toMatchObject({ outcome: 'failed' });

    // Verification over the route, then an export (itself audited as export.run).
    const verified = await call(service, 'GET', '/api/v1/audit/verify');
    expect(verified.status).toBe(200);
    expect(JSON.parse(verified.text)).toMatchObject({ ok: true });
    expect((JSON.parse(verified.text) as { checked: number }).checked).toBeGreaterThanOrEqual(rows.length);
    const csv = await call(service, 'GET', '/api/v1/audit/events?format=csv&action=policy.change');
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.text.trim().split('\r\n')).toHaveLength(2);
    expect(csv.text).toContain('policy.change');
    await waitFor('the export audited', async () =>
      (await service.rows("SELECT 1 FROM audit_events WHERE action = 'export.run'")).length > 0
        ? true
        : undefined,
    );

    // Digests: the heads published to the topic come back as a digest the store matches.
    const published = await service.use(audit).digests.publish();
    expect(published).toBeGreaterThan(0);
    const digest = await readDigestTopic(testKafka(), service.config.topics.auditDigests);
    expect(digest.length).toBeGreaterThanOrEqual(published);
    for (const entry of digest) {
      const stored = await service.rows<{ hash: string }>(
        'SELECT hash FROM audit_events WHERE chain = {chain:String} AND position = {position:UInt64}',
        { chain: entry.chain, position: entry.position },
      );
      expect(stored, `${entry.chain}@${entry.position}`).toEqual([{ hash: entry.hash }]);
    }
    const heads = await service.rows<{ chain: string }>(
      'SELECT DISTINCT chain FROM audit_events ORDER BY chain',
    );

    // A forged row at a taken position: the route names the chain and position.
    const [victim] = heads;
    await service.platform.db.client.command({
      query: `INSERT INTO audit_events (chain, position, prev_hash, hash, record, kind, at, principal, action, resource_type, resource_id, outcome) SELECT chain, position, prev_hash, hash, replaceOne(record, 'allowed', 'denied'), kind, at, principal, action, resource_type, resource_id, outcome FROM audit_events WHERE chain = {chain:String} AND position = 1`,
      query_params: { chain: victim?.chain },
    });
    const broken = JSON.parse((await call(service, 'GET', '/api/v1/audit/verify')).text) as {
      ok: boolean;
      first_broken?: { chain: string; position: number };
    };
    expect(broken.ok).toBe(false);
    expect(broken.first_broken).toMatchObject({ chain: victim?.chain, position: 1 });
  }, 120_000);
});
