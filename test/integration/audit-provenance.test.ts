import { describe, expect, it } from 'vitest';
import type { Provenance } from '../../src/audit/index.js';
import { auth } from '../../src/auth/index.js';
import { capabilities } from '../../src/service/capabilities.js';
import { createShadow } from '../../src/shadow/index.js';
import { accessEvent } from '../support/events.js';
import { produce, waitFor } from '../support/harness.js';
import { californiaBody, CALIFORNIA_FEATURES, send } from '../support/registry.js';
import { startTestService, type TestService } from '../support/service.js';

const T0 = Date.UTC(2026, 10, 1);
const FEATURES = Object.fromEntries(CALIFORNIA_FEATURES.map((f, j) => [f, 1 + j / 10]));

async function provenance(service: TestService, id: string, key: string) {
  const response = await service.app.inject({
    method: 'GET',
    url: `/api/v1/predictions/${encodeURIComponent(id)}/provenance`,
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: response.statusCode, body: response.json<Provenance & { message?: string }>() };
}

describe('GET /predictions/:id/provenance through the broker', () => {
  it('answers the prediction, its registered version, labels, shadow scores and every audited access with chain positions', async () => {
    const shadowDefinition = createShadow({ refreshMs: 500 });
    const service = await startTestService(
      { MODELWATCH_AUDIT_BATCH_MAX_MS: '100' },
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? shadowDefinition : c)) },
    );
    for (const [version, stage] of [
      ['1', 'production'],
      ['2', 'shadow'],
    ] as const) {
      const registered = await send(
        service,
        'POST',
        '/api/v1/models/california/versions',
        californiaBody({ version, stage }),
      );
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    }
    await service.use(shadowDefinition).refresh();
    const keys = service.use(auth).keys;
    const auditorKey = await keys.create('auditor', 'prov-auditor');
    const viewerKey = await keys.create('viewer', 'prov-viewer');

    const { topics } = service.config;
    await produce(
      topics.predictions,
      [0, 1, 2].map((i) => ({
        prediction_id: `cal-${i}`,
        model_id: 'california',
        model_version: '1',
        timestamp: T0 + i * 1000,
        features: { ...FEATURES, region: 'north' },
        prediction: i % 2,
        score: 0.25 + i / 10,
        latency_ms: 7,
        entity_id: `person-${i}`,
        request_id: `r-${i}`,
      })),
    );
    await produce(topics.labels, [
      { prediction_id: 'cal-1', label: 1, timestamp: T0 + 86_400_000 },
      { prediction_id: 'cal-2', label: 0, timestamp: T0 + 86_400_000 },
    ]);
    await produce(topics.accessLog, [
      accessEvent(1, { resource_id: 'cal-1', entity_id: 'person-1', model_id: 'california' }),
      // Names the data subject of cal-1 but another resource: listed as an entity match.
      accessEvent(2, { resource_type: 'customer', resource_id: 'person-1', entity_id: 'person-1' }),
      // Another prediction: not listed.
      accessEvent(3, { resource_id: 'cal-2', entity_id: 'person-2' }),
    ]);
    await waitFor('shadow scores, labels and access records stored', async () => {
      const [c] = await service.rows<{ s: string; l: string; a: string }>(
        `SELECT (SELECT count() FROM shadow_scores FINAL WHERE prediction_id = 'cal-1') AS s,
                (SELECT count() FROM labels FINAL) AS l,
                (SELECT count() FROM audit_events WHERE kind = 'access') AS a`,
      );
      return Number(c?.s) === 1 && Number(c?.l) === 2 && Number(c?.a) === 3 ? true : undefined;
    });

    expect((await provenance(service, 'cal-1', viewerKey)).status).toBe(403);
    const first = await provenance(service, 'cal-1', auditorKey);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const [p] = first.body.predictions;
    expect(first.body.predictions).toHaveLength(1);
    expect(p).toMatchObject({
      model_id: 'california',
      model_version: '1',
      timestamp: new Date(T0 + 1000).toISOString(),
      prediction: '1',
      score: 0.35,
      latency_ms: 7,
      status: 'ok',
      entity_id: 'person-1',
      request_id: 'r-1',
      features: { ...FEATURES, region: 'north' },
      labels: [{ model_id: null, label: '1', timestamp: new Date(T0 + 86_400_000).toISOString() }],
    });
    const artifact = await service.rows<{ artifact_sha256: string }>(
      "SELECT artifact_sha256 FROM model_versions FINAL WHERE model_id = 'california' AND model_version = '1'",
    );
    expect(p?.version).toEqual({
      registered: true,
      task: 'binary_classification',
      stage: 'production',
      artifact_sha256: artifact[0]?.artifact_sha256,
      training_data: {
        uri: 'file://test/fixtures/drift/california_housing_reference.csv',
        sha256: 'a'.repeat(64),
      },
    });
    expect(p?.version?.artifact_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(p?.shadow).toHaveLength(1);
    expect(p?.shadow[0]).toMatchObject({ challenger_version: '2', failed: false, failure: null });
    expect(p?.shadow[0]?.score).toBeGreaterThanOrEqual(0);
    expect(p?.shadow[0]?.score).toBeLessThanOrEqual(1);
    expect(['0', '1']).toContain(p?.shadow[0]?.label);

    // The access-log records. The viewer's denied call above is listed too once its audit record
    // is stored, which may or may not have happened by now (it is checked below).
    const logged = first.body.accesses.filter((a) => a.record['kind'] !== 'api');
    const accessIds = logged.map((a) => [(a.record['details'] as { event_id?: string }).event_id, a.matched]);
    expect(accessIds).toEqual([
      ['a-1', 'prediction'],
      ['a-2', 'entity'],
    ]);
    expect(first.body.accesses.length - logged.length).toBeLessThanOrEqual(1);
    expect(first.body.accesses_total).toBe(first.body.accesses.length);
    // Chain and position name the stored row, whose hash is the one answered.
    for (const a of logged) {
      const stored = await service.rows<{ hash: string }>(
        'SELECT hash FROM audit_events WHERE chain = {chain:String} AND position = {position:UInt64}',
        { chain: a.chain, position: a.position },
      );
      expect(stored).toEqual([{ hash: a.hash }]);
      expect(a.chain).toMatch(new RegExp(`^${topics.accessLog.replaceAll('.', '\\.')}/\\d+$`));
    }

    // The auditor's own look is an access too, once chained (the viewer's denied one as well).
    const again = await waitFor('the provenance calls audited', async () => {
      const r = await provenance(service, 'cal-1', auditorKey);
      return r.body.accesses.filter((a) => a.record['kind'] === 'api').length >= 2 ? r : undefined;
    });
    const api = again.body.accesses.filter((a) => a.record['kind'] === 'api');
    expect(api.map((a) => [a.record['principal'], a.record['outcome'], a.matched])).toEqual(
      expect.arrayContaining([
        ['prov-viewer', 'denied', 'prediction'],
        ['prov-auditor', 'allowed', 'prediction'],
      ]),
    );

    // A prediction without a label: an empty list, not a missing field.
    const other = await provenance(service, 'cal-0', auditorKey);
    expect(other.status).toBe(200);
    expect(other.body.predictions[0]).toMatchObject({ labels: [], prediction: '0' });

    const missing = await provenance(service, 'no-such-prediction', auditorKey);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(missing.body.message).toContain('params/id');
    // Prediction ids as long as the collectors accept are looked up; longer is a 414.
    expect((await provenance(service, 'x'.repeat(512), auditorKey)).status).toBe(404);
    expect((await provenance(service, 'x'.repeat(513), auditorKey)).status).toBe(414);
  }, 150_000);
});
