import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile, type OnnxModel } from '../../../src/inference/index.js';
import {
  analysisRows,
  asObjects,
  CALIFORNIA_FEATURES,
  expected,
  logisticProbability,
  logisticProbability32,
  modelFile,
} from './models.js';

/**
 * The logistic formula in TypeScript with the weights scikit-learn exported; ONNX must agree to
 * 1e-6. The graph computes in float32, so the formula is evaluated at float32 too; the exact
 * float64 formula is within 2e-6 (float32 rounding of standardised inputs such as Population,
 * which are in the thousands), as the last test bounds.
 */
describe.each([
  { name: 'california-logistic' as const, features: CALIFORNIA_FEATURES },
  { name: 'synthetic-logistic-10' as const, features: Array.from({ length: 10 }, (_, i) => `f${i}`) },
])('$name against the logistic formula', ({ name, features }) => {
  let model: OnnxModel;
  const want = expected(name);
  const weights = want.weights;
  if (!weights) throw new Error(`${name}.expected.json has no weights`);

  beforeAll(async () => {
    model = await loadModelFile(modelFile(name));
  });
  afterAll(() => model.close());

  it('probabilities equal the formula to 1e-6 and labels are its side of 0.5', async () => {
    const result = await model.score(asObjects(want.rows, features));
    expect(result.rows).toBe(want.rows.length);
    expect(result.scored).toBe(want.rows.length);
    expect(result.failures).toEqual([]);
    let worst = 0;
    let disagreements = 0;
    want.rows.forEach((row, i) => {
      const p = logisticProbability32(weights, row);
      const score = result.scores[i] as number;
      worst = Math.max(worst, Math.abs(score - p));
      expect(result.probabilities[2 * i + 1]).toBe(Math.fround(score));
      expect((result.probabilities[2 * i] as number) + score).toBeCloseTo(1, 6);
      if (Math.abs(p - 0.5) > 1e-6 && result.labels[i] !== (p > 0.5 ? '1' : '0')) disagreements++;
    });
    expect(worst).toBeLessThan(1e-6);
    expect(disagreements).toBe(0);
    // The rows are not degenerate: both classes occur and the scores spread.
    expect(new Set(result.labels)).toEqual(new Set(['0', '1']));
  });

  it("equals scikit-learn's own predict_proba and predict on the same rows", async () => {
    const result = await model.score(asObjects(want.rows, features));
    want.predict_proba.forEach(([, p1], i) =>
      expect(Math.abs((result.scores[i] as number) - p1)).toBeLessThan(1e-6),
    );
    expect(result.labels).toEqual(want.predict);
  });
});

describe('california-logistic on every analysis row of the fixture', () => {
  it('all 8,232 rows equal the float32 formula to 1e-6, and the exact float64 formula to 2e-6', async () => {
    const model = await loadModelFile(modelFile('california-logistic'));
    const weights = expected('california-logistic').weights;
    if (!weights) throw new Error('no weights');
    const rows = analysisRows();
    expect(rows.length).toBe(8232);
    const result = await model.score(asObjects(rows, CALIFORNIA_FEATURES));
    const worst = (formula: typeof logisticProbability) =>
      rows.reduce(
        (m, row, i) => Math.max(m, Math.abs((result.scores[i] as number) - formula(weights, row))),
        0,
      );
    expect(worst(logisticProbability32)).toBeLessThan(1e-6);
    expect(worst(logisticProbability)).toBeLessThan(2e-6);
    await model.close();
  });
});
