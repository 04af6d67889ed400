import { describe, expect, it } from 'vitest';
import { audit, runSqlCheck, verifyStore } from '../../src/audit/index.js';
import { accessEvent, label, prediction } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

const DAY = 86_400_000;

async function n(service: TestService, query: string): Promise<number> {
  const [row] = await service.rows<{ n: string }>(query);
  return Number(row?.n);
}

async function api(service: TestService, method: 'PUT' | 'DELETE' | 'GET', url: string, body?: unknown) {
  const response = await service.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

describe('retention', () => {
  it('deletes old predictions, labels and audit prefixes except under legal hold, audits each deletion, and what remains verifies', async () => {
    const service = await startTestService({
      MODELWATCH_RETENTION_PREDICTIONS: '30d',
      MODELWATCH_RETENTION_LABELS: '30d',
      MODELWATCH_RETENTION_AUDIT: '30d',
      MODELWATCH_RETENTION_AUDIT_FORCE: 'true',
      MODELWATCH_AUDIT_BATCH_MAX_MS: '100',
    });
    const retention = service.use(audit).retention;
    // The service's own run at start ends before the data arrives (it waits behind that run): one
    // that began before the hold below and trimmed after it refused the chain. The next is in 1 h.
    await retention.runOnce();
    const now = Date.now();
    const old = now - 60 * DAY;
    const recent = now - DAY;
    const { topics } = service.config;
    const preds = [
      ...Array.from({ length: 10 }, (_, i) => prediction(i, { model_id: 'held', timestamp: old + i })),
      ...Array.from({ length: 10 }, (_, i) => prediction(100 + i, { model_id: 'free', timestamp: old + i })),
      ...Array.from({ length: 5 }, (_, i) =>
        prediction(200 + i, { model_id: 'free', timestamp: recent + i }),
      ),
    ];
    await produce(topics.predictions, preds);
    await produce(
      topics.labels,
      preds.map((p) => label(0, { prediction_id: p['prediction_id'], timestamp: p['timestamp'] })),
    );
    // One key: one partition, one chain with known positions. 1-30 old (free), 31-33 old (held),
    // 34-43 old (free), 44-48 recent.
    const access = [
      ...Array.from({ length: 30 }, (_, i) => accessEvent(i, { model_id: 'free', timestamp: old + i })),
      ...Array.from({ length: 3 }, (_, i) =>
        accessEvent(30 + i, { model_id: 'held', timestamp: old + 30 + i }),
      ),
      ...Array.from({ length: 10 }, (_, i) =>
        accessEvent(33 + i, { model_id: 'free', timestamp: old + 33 + i }),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        accessEvent(43 + i, { model_id: 'free', timestamp: recent + i }),
      ),
    ];
    await produce(topics.accessLog, access, () => 'one-chain');
    await waitFor('everything stored and chained', async () =>
      (await n(service, 'SELECT count() AS n FROM predictions FINAL')) === 25 &&
      (await n(service, 'SELECT count() AS n FROM labels FINAL')) === 25 &&
      (await n(service, "SELECT count() AS n FROM audit_events WHERE kind = 'access'")) === 48
        ? true
        : undefined,
    );
    const [{ chain } = { chain: '' }] = await service.rows<{ chain: string }>(
      "SELECT DISTINCT chain FROM audit_events WHERE kind = 'access'",
    );
    const hashAt = async (position: number) =>
      (
        await service.rows<{ hash: string }>(
          'SELECT hash FROM audit_events WHERE chain = {chain:String} AND position = {position:UInt64}',
          { chain, position },
        )
      )[0]?.hash;
    const hash30 = await hashAt(30);
    const at = new Date(now).toISOString();
    const held = [20, 30, 48].map((position) => ({ chain, position, hash: '', at }));
    for (const entry of held) entry.hash = (await hashAt(entry.position)) ?? '';

    expect(
      (await api(service, 'PUT', '/api/v1/models/held/legal-hold', { reason: 'case 2026-17' })).status,
    ).toBe(200);
    // A misspelt model is a 404, not a hold on nothing while the model meant stays unheld.
    const typo = await api(service, 'PUT', '/api/v1/models/hled/legal-hold', { reason: 'case 2026-17' });
    expect([typo.status, typo.body['message']]).toEqual([404, "unknown model 'hled'"]);
    const listed = await api(service, 'GET', '/api/v1/legal-holds');
    expect(listed.body['holds']).toMatchObject([{ model_id: 'held', held: true, reason: 'case 2026-17' }]);
    expect(listed.body['holds']).toHaveLength(1);

    const first = await retention.runOnce();
    expect(first).toMatchObject({
      held_models: ['held'],
      predictions: 10,
      labels: 10,
      // The collectors' copy of the access events goes at the audit cutoff too (review26 #2).
      access_log: 40,
      audit: [{ chain, through_position: 30, deleted_rows: 30 }],
      refused: [],
    });
    expect(await n(service, "SELECT count() AS n FROM predictions FINAL WHERE model_id = 'held'")).toBe(10);
    expect(await n(service, "SELECT count() AS n FROM predictions FINAL WHERE model_id = 'free'")).toBe(5);
    expect(await n(service, 'SELECT count() AS n FROM labels FINAL')).toBe(15);
    expect(await n(service, "SELECT count() AS n FROM access_log FINAL WHERE model_id = 'held'")).toBe(3);
    expect(await n(service, "SELECT count() AS n FROM access_log FINAL WHERE model_id = 'free'")).toBe(5);
    expect(await n(service, `SELECT min(position) AS n FROM audit_events WHERE chain = '${chain}'`)).toBe(31);
    expect(await service.rows('SELECT chain, through_position, through_hash FROM audit_anchors')).toEqual([
      { chain, through_position: 30, through_hash: hash30 },
    ]);
    // What remains verifies, from the anchor (the route reads the anchors too).
    expect(await verifyStore(service.platform.db)).toMatchObject({ ok: true });
    expect((await api(service, 'GET', '/api/v1/audit/verify')).body).toMatchObject({ ok: true });
    expect(await runSqlCheck(service.platform.db)).toEqual([]);
    // Held digests: an entry before the anchor cannot be checked (its row is gone by design), one
    // at the anchor is checked against the anchor's hash, later ones against the rows.
    expect(await verifyStore(service.platform.db, { digest: held })).toMatchObject({ ok: true });
    expect(
      (
        await verifyStore(service.platform.db, {
          digest: [{ chain, position: 30, hash: 'f'.repeat(64), at }],
        })
      ).first_broken,
    ).toMatchObject({ chain, position: 30, reason: 'digest_mismatch' });
    // Without the anchor the same rows are a chain that lost its start: the anchor is what makes it verify.
    expect((await verifyStore(service.platform.db, { anchors: new Map() })).first_broken).toMatchObject({
      chain,
      position: 1,
      reason: 'gap',
    });

    // Each deletion and the hold are audit records themselves.
    const changes = await waitFor('the deletions audited', async () => {
      const rows = await service.rows<{ principal: string; resource_type: string; record: string }>(
        "SELECT principal, resource_type, record FROM audit_events WHERE action IN ('retention.delete', 'legal_hold.set') ORDER BY resource_type",
      );
      return rows.length >= 5 ? rows : undefined;
    });
    expect(changes.map((r) => [r.principal, r.resource_type])).toEqual([
      ['retention', 'access_log'],
      ['retention', 'audit_chain'],
      ['retention', 'labels'],
      ['bootstrap-admin', 'model'],
      ['retention', 'predictions'],
    ]);
    expect(JSON.parse(changes[0]?.record ?? '{}')).toMatchObject({
      details: { rows: 40, held_models: ['held'] },
    });
    expect(JSON.parse(changes[1]?.record ?? '{}')).toMatchObject({
      resource_id: chain,
      details: { through_position: 30, through_hash: hash30, rows: 30 },
    });

    // Released: the held model's old data goes on the next run; the chain up to the first recent record.
    expect((await api(service, 'DELETE', '/api/v1/models/held/legal-hold')).status).toBe(200);
    expect((await api(service, 'DELETE', '/api/v1/models/held/legal-hold')).status).toBe(404);
    const second = await retention.runOnce();
    expect(second).toMatchObject({ held_models: [], predictions: 10, labels: 10, access_log: 3 });
    expect(second.audit.find((t) => t.chain === chain)).toEqual({
      chain,
      through_position: 43,
      deleted_rows: 13,
    });
    expect(await n(service, 'SELECT count() AS n FROM predictions FINAL')).toBe(5);
    expect(await verifyStore(service.platform.db)).toMatchObject({ ok: true });

    // Tampering after the anchor is still seen, and retention refuses to delete the evidence.
    await service.platform.db.client.command({
      query: `ALTER TABLE audit_events DELETE WHERE chain = {chain:String} AND position = 45`,
      query_params: { chain },
      clickhouse_settings: { mutations_sync: '2' },
    });
    expect((await verifyStore(service.platform.db)).first_broken).toMatchObject({
      chain,
      position: 45,
      reason: 'gap',
    });
    expect(await runSqlCheck(service.platform.db)).toEqual([{ chain, position: 45, reason: 'gap' }]);
    const refused = await retention.job.run(now + 40 * DAY);
    expect(refused.refused.map((r) => r.chain)).toContain(chain);
    expect(await n(service, `SELECT min(position) AS n FROM audit_events WHERE chain = '${chain}'`)).toBe(44);
  }, 180_000);
});
