import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore, loadModel, loadModelFile, type OnnxModel } from '../../../src/inference/index.js';
import { workerThreadsStarted } from '../../../src/inference/worker-session.js';
import type { ArtifactStore, ModelVersionRecord } from '../../../src/models/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { ShadowScorer } from '../../../src/shadow/scorer.js';
import { createShadowMetrics } from '../../../src/shadow/shadow-metrics.js';
import { CALIFORNIA_FEATURES, expected, modelBytes, modelFile, sidecar } from './models.js';

/** `n` rows of the stored sample rows, repeated, row-major. */
function rowMajor(rows: readonly (readonly number[])[], n: number): Float32Array {
  const f = CALIFORNIA_FEATURES.length;
  const values = new Float32Array(n * f);
  for (let r = 0; r < n; r++) values.set(rows[r % rows.length] as number[], r * f);
  return values;
}

/** Turns of the event loop (setImmediate after setImmediate) until `work` settles. */
async function turnsWhile<T>(work: Promise<T>): Promise<{ value: T; turns: number }> {
  let settled = false;
  let turns = 0;
  const done = work.finally(() => (settled = true));
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return { value: await done, turns };
}

describe('the session in a worker thread of its own', () => {
  let model: OnnxModel;
  const want = expected('california-forest');

  beforeAll(async () => {
    model = await loadModelFile(modelFile('california-forest'));
  });
  afterAll(() => model.close());

  it('leaves the event loop turning while a large batch is scored', async () => {
    const rows = 200_000;
    const { value, turns } = await turnsWhile(
      model.scoreMatrix({ values: rowMajor(want.rows, rows), rows, layout: 'row-major' }),
    );
    expect(value.scored).toBe(rows);
    // onnxruntime-node runs a session synchronously on its caller's thread: there, the loop stood
    // still for the whole batch (~0.6 s; 2 turns counted). Each turn here is a few microseconds.
    expect(turns).toBeGreaterThan(100);
  });

  it('copies the caller’s matrix as it is sent: changing it afterwards changes nothing', async () => {
    const rows = want.rows.length;
    const values = rowMajor(want.rows, rows);
    const before = await model.scoreMatrix({ values: values.slice(), rows, layout: 'row-major' });
    const pending = model.scoreMatrix({ values, rows, layout: 'row-major' });
    values.fill(1e6);
    expect((await pending).scores).toEqual(before.scores);
    expect(before.labels).toEqual(want.predict);
  });

  it('answers every batch of many in flight at once with its own rows', async () => {
    const batches = want.rows.map((row) =>
      model.score([Object.fromEntries(CALIFORNIA_FEATURES.map((n, j) => [n, row[j]]))]),
    );
    const labels = (await Promise.all(batches)).map((r) => r.labels[0]);
    expect(labels).toEqual(want.predict);
  });

  it('reuses the worker of a refused or released session for the next load', async () => {
    const bytes = modelBytes('california-logistic');
    const metadata = sidecar('california-logistic');
    const before = workerThreadsStarted();
    for (let cut = 100; cut < bytes.length; cut += Math.floor(bytes.length / 8))
      await expect(loadModel({ bytes: bytes.subarray(0, cut), metadata })).rejects.toMatchObject({
        code: 'ARTIFACT_INVALID',
      });
    for (let i = 0; i < 3; i++) {
      const logistic = await loadModel({ bytes, metadata });
      const want = expected('california-logistic');
      const result = await logistic.score(
        want.rows.map((row) => Object.fromEntries(CALIFORNIA_FEATURES.map((n, j) => [n, row[j]]))),
      );
      expect(result.labels).toEqual(want.predict);
      await logistic.close();
    }
    // Eleven loads, one after the other: one worker (none if an idle one was left by another test).
    expect(workerThreadsStarted() - before).toBeLessThanOrEqual(1);
  });

  it('a stopped worker fails its batches as WORKER_FAILED (retryable), and the core loads the model again', async () => {
    const core = new InferenceCore();
    const artifact = { bytes: modelBytes('california-logistic'), metadata: sidecar('california-logistic') };
    const want = expected('california-logistic');
    const rows = want.rows.map((row) => Object.fromEntries(CALIFORNIA_FEATURES.map((n, j) => [n, row[j]])));
    try {
      const first = await core.load('m', artifact);
      expect((await first.score(rows)).labels).toEqual(want.predict);
      await first.crashWorkerForTest();
      await expect(first.score(rows)).rejects.toMatchObject({
        code: 'WORKER_FAILED',
        retryable: true,
        status: 503,
      });
      expect(first.workerFailed).toBe(true);
      // The same key again: a new session in a live worker, not the broken one.
      const [again, same] = await Promise.all([core.load('m', artifact), core.load('m', artifact)]);
      expect(again).not.toBe(first);
      expect(same).toBe(again);
      expect((await again.score(rows)).labels).toEqual(want.predict);
    } finally {
      await core.close();
    }
  });

  it('the shadow scorer scores again with a new session once its challenger’s worker stopped', async () => {
    const core = new InferenceCore();
    const bytes = modelBytes('california-logistic');
    const challenger = {
      model_id: 'm',
      model_version: '2',
      artifact_sha256: 'abc',
      feature_schema: JSON.stringify(sidecar('california-logistic')),
    } as ModelVersionRecord;
    const scorer = new ShadowScorer({
      core,
      artifacts: { get: () => Promise.resolve({ bytes: Buffer.from(bytes) }) } as unknown as ArtifactStore,
      metrics: createShadowMetrics(new Registry()),
      logger: createLogger('silent'),
    });
    const want = expected('california-logistic');
    const rows = want.rows.length;
    const batch = { rows, values: rowMajor(want.rows, rows), refused: new Map<number, string>() };
    try {
      const first = await scorer.load(challenger);
      await first.model?.crashWorkerForTest();
      expect(first.model?.workerFailed).toBe(true);
      const again = await scorer.load(challenger);
      expect(again.model).toBeDefined();
      expect(again.model).not.toBe(first.model);
      const scored = await scorer.scoreBatch(challenger, again, batch as never);
      expect(scored.labels).toEqual(want.predict);
      expect(scored.failed.size).toBe(0);
    } finally {
      await core.close();
    }
  });
});
