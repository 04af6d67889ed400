import { describe, expect, it } from 'vitest';
import { ModelRegistry, models } from '../../src/models/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * A version whose first batch holds only failed predictions (`status: "error"`, no score): its
 * task inferred from them (regression for a binary classifier) was kept for good, since the
 * registry writes a seen version once, also after a restart. It is known at once (listed, its
 * error rate served) and its task is inferred again from its first prediction that did not fail.
 */

const TIME = Date.UTC(2026, 2, 2, 10);
const MODEL = 'errors-first';

function event(id: string, overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    prediction_id: id,
    model_id: MODEL,
    model_version: '1',
    timestamp: TIME,
    features: { x: 1 },
    prediction: 0,
    ...overrides,
  };
}

async function storedVersion(service: TestService, model: string, version: string) {
  const [row] = await service.rows<{ task: string; first_seen: string }>(
    `SELECT task, toString(first_seen) AS first_seen FROM model_versions FINAL
     WHERE model_id = {model:String} AND model_version = {version:String}`,
    { model, version },
  );
  return row;
}

async function waitForTask(service: TestService, model: string, task: string): Promise<void> {
  await waitFor(`${model} 1 registered as ${task}`, async () =>
    (await storedVersion(service, model, '1'))?.task === task ? true : undefined,
  );
}

describe("a version's task when its first batch holds only failed predictions", () => {
  it('is listed and served at once, and its task is binary_classification after a successful binary prediction', async () => {
    const service = await startTestService();
    const { predictions } = service.config.topics;
    await produce(
      predictions,
      ['e1', 'e2'].map((id) => event(id, { status: 'error' })),
      () => MODEL,
    );
    await waitForTask(service, MODEL, 'regression');
    // Versions are registered before their rows are stored.
    await waitFor('the failed predictions stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      return row?.n === 2 ? true : undefined;
    });
    // Known before any prediction succeeded: the models list and the serving metrics (SPEC 4).
    const listed = await service.get('/api/v1/models');
    expect(JSON.stringify(listed.body)).toContain(MODEL);
    const served = await service.get(
      `/api/v1/models/${MODEL}/metrics?from=2026-03-02&to=2026-03-03&bucket=1d&version=1`,
    );
    expect(served.status).toBe(200);
    expect(served.body).toMatchObject({ buckets: [{ count: 2, error_rate: 1 }] });

    await produce(predictions, [event('ok1', { prediction: 1, score: 0.8 })], () => MODEL);
    await waitForTask(service, MODEL, 'binary_classification');
    expect((await storedVersion(service, MODEL, '1'))?.first_seen).toBe('2026-03-02 10:00:00.000');
  });

  it('is inferred again after a restart (a new registry), once: a settled task is not rewritten', async () => {
    const service = await startTestService();
    const model = 'errors-first-restart';
    const seen = { modelId: model, version: '1', firstSeen: TIME };
    await service.use(models).registry.registerSeen([{ ...seen, task: 'regression', fromErrors: true }]);

    // Another process on the same database: it knows the version only from its stored row.
    const restarted = new ModelRegistry(service.platform.db);
    await restarted.registerSeen([{ ...seen, task: 'regression', fromErrors: true }]);
    expect(await storedVersion(service, model, '1')).toEqual({
      task: 'regression',
      first_seen: '2026-03-02 10:00:00.000',
    });
    await restarted.registerSeen([{ ...seen, task: 'binary_classification', firstSeen: TIME + 60_000 }]);
    expect(await storedVersion(service, model, '1')).toEqual({
      task: 'binary_classification',
      first_seen: '2026-03-02 10:00:00.000',
    });

    const again = new ModelRegistry(service.platform.db);
    await again.registerSeen([{ ...seen, task: 'regression' }]);
    await again.registerSeen([{ ...seen, task: 'regression', fromErrors: true }]);
    expect((await storedVersion(service, model, '1'))?.task).toBe('binary_classification');
  });
});
