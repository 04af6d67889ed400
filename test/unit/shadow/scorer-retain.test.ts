import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../../../src/inference/index.js';
import type { ArtifactStore, ModelVersionRecord } from '../../../src/models/index.js';
import { createLogger } from '../../../src/platform/observability/index.js';
import { ShadowScorer } from '../../../src/shadow/scorer.js';
import { createShadowMetrics } from '../../../src/shadow/shadow-metrics.js';
import type { StoredBatch } from '../../../src/shadow/stored-batch.js';

/** A challenger moved out of `shadow` gives its onnxruntime session back (issue 16). */

const bytes = readFileSync('data/models/synthetic-logistic-10.onnx');
const schema = readFileSync('data/models/synthetic-logistic-10.json', 'utf8');
const challenger = (version: string, sha: string) =>
  ({
    model_id: 'm',
    model_version: version,
    artifact_sha256: sha,
    feature_schema: schema,
  }) as ModelVersionRecord;
/** One stored row of the 10 features (the head is not read by the scorer). */
const batch = (): StoredBatch => ({
  rows: 1,
  values: Float32Array.from({ length: 10 }, (_, f) => f / 10),
  refused: new Map(),
  head: Buffer.from('{}'),
  starts: Uint32Array.of(0),
  ends: Uint32Array.of(1),
  lastIngestedAt: 0,
});

describe('ShadowScorer.retain', () => {
  const core = new InferenceCore();
  const scorer = new ShadowScorer({
    core,
    artifacts: { get: () => Promise.resolve({ bytes }) } as unknown as ArtifactStore,
    metrics: createShadowMetrics(new Registry()),
    logger: createLogger('silent'),
  });
  afterAll(() => core.close());

  it('unloads the sessions of challengers no longer listed, and keeps the others', async () => {
    const [a, b] = [challenger('2', 'aaa'), challenger('3', 'bbb')];
    for (const c of [a, b]) {
      const scored = await scorer.scoreBatch(c, await scorer.load(c), batch());
      expect([scored.failed.size, scored.labels.length]).toEqual([0, 1]);
    }
    expect(core.keys).toHaveLength(2);
    const loadedB = await core.get(core.keys.find((k) => k.includes('bbb'))!)!;
    await scorer.retain([a]);
    expect(core.keys).toEqual([expect.stringContaining('aaa')]);
    // The released session refuses work: it was really closed, not only forgotten.
    await expect(
      loadedB.scoreMatrix({ values: new Float32Array(10), rows: 1, layout: 'row-major' }),
    ).rejects.toThrow();
    // Keys of other users of the core are not the scorer's to unload.
    await core.loadFile('simulator:x', 'data/models/synthetic-logistic-10.onnx');
    await scorer.retain([]);
    expect(core.keys).toEqual(['simulator:x']);
  });
});
