import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inference, type InferenceCore } from '../../src/inference/index.js';
import { ArtifactStore, ModelRegistry, models } from '../../src/models/index.js';
import { registerVersion, type RegistrationBody } from '../../src/models/register.js';
import { bundledArtifact, californiaBody, send } from '../support/registry.js';
import { startTestService, type TestService } from '../support/service.js';

/** Regression tests for review s21 findings 1 and 2: registrations and PATCHes of one version racing. */

const URL = '/api/v1/models/california/versions';
const sha = (name: string) => createHash('sha256').update(bundledArtifact(name)).digest('hex');
const forestBody = (overrides: Record<string, unknown> = {}) =>
  californiaBody({
    artifact: { format: 'onnx', base64: bundledArtifact('california-forest').toString('base64') },
    ...overrides,
  });

/** Another instance of the service: its own registry (and lock) on the same ClickHouse. */
function instance(service: TestService, core: Pick<InferenceCore, 'load' | 'unload'>) {
  return {
    registry: new ModelRegistry(service.platform.db),
    artifacts: new ArtifactStore(service.platform.db),
    core: core as InferenceCore,
  };
}

describe('concurrent registrations of one version', () => {
  it("answers one 201 and one 409 naming the 201's artifact, and stores the 201's row alone", async () => {
    const service = await startTestService();
    const answers = await Promise.all([
      send(service, 'POST', URL, californiaBody()),
      send(service, 'POST', URL, forestBody()),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    const winner = answers.find((a) => a.status === 201);
    const loser = answers.find((a) => a.status === 409);
    expect(loser?.body.message).toContain(
      `is registered with another artifact (sha256 ${String(winner?.body['artifact_sha256'])})`,
    );
    expect([sha('california-logistic'), sha('california-forest')]).toContain(winner?.body['artifact_sha256']);
    const stored = await service.rows<{ artifact_sha256: string }>(
      "SELECT artifact_sha256 FROM model_versions WHERE model_id = 'california'",
    );
    expect(stored).toEqual([{ artifact_sha256: winner?.body['artifact_sha256'] }]);
  });

  it('refuses (409) a registration another instance made while this one loaded the artifact', async () => {
    const service = await startTestService();
    const core = service.use(inference).core;
    const other = instance(service, core);
    // The other instance registers during this one's slowest step (the session load).
    const here = instance(service, {
      load: async (key, source) => {
        await registerVersion(other, 'california', forestBody() as unknown as RegistrationBody);
        return core.load(key, source);
      },
      unload: (key) => core.unload(key),
    });
    const refused = await registerVersion(
      here,
      'california',
      californiaBody() as unknown as RegistrationBody,
    ).then(
      () => undefined,
      (err: unknown) => err as { code?: string; message?: string },
    );
    expect([refused?.code, refused?.message]).toEqual([
      'REGISTRATION_CONFLICT',
      expect.stringContaining(`sha256 ${sha('california-forest')}`),
    ]);
    const [stored] = await service.use(models).registry.list('california');
    expect(stored?.artifact_sha256).toBe(sha('california-forest'));
  });
});

describe('a PATCH racing a registration', () => {
  it('never rewrites a version that changed after the PATCH read it', async () => {
    const service = await startTestService();
    const registry = service.use(models).registry;
    await registry.registerSeen([
      { modelId: 'california', version: '2', task: 'binary_classification', firstSeen: Date.now() },
    ]);
    const checked = await registry.version('california', '2');
    expect(checked?.artifact_sha256).toBe('');
    // Registered (e.g. through another instance) after the PATCH checked the traffic-only row.
    expect((await send(service, 'POST', URL, californiaBody({ stage: 'production' }))).status).toBe(201);
    await expect(
      registry.correct('california', '2', { stage: 'archived' }, { expectedRevision: checked?.revision }),
    ).rejects.toMatchObject({ code: 'VERSION_CHANGED' });
    const [after] = await registry.list('california');
    expect([after?.artifact_sha256, after?.stage]).toEqual([sha('california-logistic'), 'production']);
  });

  it('serializes a PATCH with a registration: the artifact is kept whichever runs first', async () => {
    const service = await startTestService();
    await service
      .use(models)
      .registry.registerSeen([
        { modelId: 'california', version: '2', task: 'binary_classification', firstSeen: Date.now() },
      ]);
    const [registered, patched] = await Promise.all([
      send(service, 'POST', URL, californiaBody()),
      send(service, 'PATCH', `${URL}/2`, { stage: 'archived' }),
    ]);
    expect([registered.status, patched.status]).toEqual([201, 200]);
    const [after] = await service.use(models).registry.list('california');
    expect(after?.artifact_sha256).toBe(sha('california-logistic'));
  });
});
