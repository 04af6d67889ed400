import { describe, expect, it } from 'vitest';
import { InferenceCore, isInferenceError } from '../../../src/inference/index.js';
import { expected, logisticProbability32, modelBytes, modelFile } from './models.js';

const F = 10;
const names = Array.from({ length: F }, (_, i) => `f${i}`);

/** Deterministic feature values in [-3, 3) (xorshift32). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = ((x >>> 0) / 2 ** 32) * 6 - 3;
  }
  return out;
}

describe('InferenceCore', () => {
  it('one model per key: concurrent and later loads share the session; unload and close release it', async () => {
    const core = new InferenceCore();
    const [a, b] = await Promise.all([
      core.loadFile('lr@1', modelFile('synthetic-logistic-10')),
      core.loadFile('lr@1', modelFile('synthetic-logistic-10')),
    ]);
    expect(a).toBe(b);
    expect(await core.load('lr@1', { bytes: new Uint8Array(3) })).toBe(a);
    const forest = await core.load('forest@2', { bytes: modelBytes('california-forest') });
    expect(core.keys).toEqual(['lr@1', 'forest@2']);

    await core.unload('lr@1');
    expect(a.isClosed).toBe(true);
    await expect(a.score([{}])).rejects.toMatchObject({ code: 'MODEL_CLOSED' });
    expect(core.get('lr@1')).toBeUndefined();

    await core.close();
    expect(forest.isClosed).toBe(true);
    await expect(core.load('again', { bytes: modelBytes('california-forest') })).rejects.toMatchObject({
      code: 'MODEL_CLOSED',
    });
  });

  it('a failed load is forgotten, so the key can be loaded again', async () => {
    const core = new InferenceCore();
    const err: unknown = await core.load('k', { bytes: Uint8Array.of(1, 2, 3) }).catch((e: unknown) => e);
    expect(isInferenceError(err, 'ARTIFACT_INVALID')).toBe(true);
    expect(core.keys).toEqual([]);
    const model = await core.load('k', { bytes: modelBytes('california-logistic') });
    expect(model.metadata.columns).toHaveLength(8);
    await core.close();
  });

  it('close waits for a batch in flight', async () => {
    const core = new InferenceCore();
    const model = await core.load('lr', { bytes: modelBytes('synthetic-logistic-10') });
    const n = 200_000;
    const scoring = model.scoreMatrix({ values: values(n * F, 7), rows: n, layout: 'row-major' });
    const closing = core.close();
    const result = await scoring;
    await closing;
    expect(result.scored).toBe(n);
    expect(model.isClosed).toBe(true);
  });

  it('a batch of 100,000 rows (objects): every probability equals the logistic formula to 1e-6', async () => {
    const core = new InferenceCore();
    const model = await core.load('lr10', { bytes: modelBytes('synthetic-logistic-10') });
    const weights = expected('synthetic-logistic-10').weights;
    if (!weights) throw new Error('no weights');
    const n = 100_000;
    const flat = values(n * F, 99);
    const rows = Array.from({ length: n }, (_, r) =>
      Object.fromEntries(names.map((name, j) => [name, flat[r * F + j] as number])),
    );
    const result = await model.score(rows);
    expect(result.scored).toBe(n);
    expect(result.labels).toHaveLength(n);
    let worst = 0;
    let ones = 0;
    for (let r = 0; r < n; r++) {
      const p = logisticProbability32(weights, Array.from(flat.subarray(r * F, (r + 1) * F)));
      worst = Math.max(worst, Math.abs((result.scores[r] as number) - p));
      if (result.labels[r] === '1') ones++;
    }
    expect(worst).toBeLessThan(1e-6);
    expect(ones).toBeGreaterThan(n * 0.05);
    expect(ones).toBeLessThan(n * 0.95);
    const matrix = await model.scoreMatrix({ values: flat, rows: n, layout: 'row-major' });
    expect(matrix.scores).toEqual(result.scores);
    await core.close();
  });
});
