import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFile, type OnnxModel } from '../../../src/inference/index.js';
import { asObjects, CALIFORNIA_FEATURES, expected, modelFile } from './models.js';

/** The random forest against scikit-learn's predict_proba and predict stored beside the artifact. */
describe('california-forest against scikit-learn', () => {
  let model: OnnxModel;
  const want = expected('california-forest');

  beforeAll(async () => {
    model = await loadModelFile(modelFile('california-forest'));
  });
  afterAll(() => model.close());

  it('both class probabilities equal predict_proba to 1e-6 and labels equal predict', async () => {
    const result = await model.score(asObjects(want.rows, CALIFORNIA_FEATURES));
    expect(result.scored).toBe(500);
    let worst = 0;
    want.predict_proba.forEach(([p0, p1], i) => {
      worst = Math.max(
        worst,
        Math.abs((result.probabilities[2 * i] as number) - p0),
        Math.abs((result.probabilities[2 * i + 1] as number) - p1),
      );
      expect(result.scores[i]).toBe(result.probabilities[2 * i + 1]);
    });
    expect(worst).toBeLessThan(1e-6);
    expect(result.labels).toEqual(want.predict);
    expect(new Set(want.predict)).toEqual(new Set(['0', '1']));
  });

  it('the same rows as a column-major matrix give the same answer', async () => {
    const n = want.rows.length;
    const values = new Float64Array(n * 8);
    want.rows.forEach((row, r) => row.forEach((v, j) => (values[j * n + r] = v)));
    const byColumns = await model.scoreMatrix({ values, rows: n, layout: 'column-major' });
    const byObjects = await model.score(asObjects(want.rows, CALIFORNIA_FEATURES));
    expect(byColumns.labels).toEqual(byObjects.labels);
    expect(byColumns.scores).toEqual(byObjects.scores);
  });
});
