import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore, loadModelFile, parseMetadata, type OnnxModel } from '../../../src/inference/index.js';
import { MODELS_DIR, modelBytes } from './models.js';

/**
 * The regression model (StandardScaler + LinearRegression predicting MedInc from the other seven
 * California features): ONNX equals the linear formula with the exported weights (float64, on the
 * float32-rounded inputs the graph sees) and scikit-learn's own predictions to 1e-6 relative to
 * the size of the sum, |b| + Σ|w_j z_j|: the graph adds terms of up to about 10 in float32, so
 * a result near 0 carries their rounding (measured: 3.8e-7 of the size against the formula, 6.1e-8
 * against scikit-learn, which predicts float32 inputs in float32; 2.6e-6 absolute at most).
 */
const NAME = 'california-income-regression';
const FILE = path.join(MODELS_DIR, `${NAME}.onnx`);
const FEATURES = ['HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
interface Want {
  weights: { scaler_mean: number[]; scaler_scale: number[]; coef: number[]; intercept: number };
  rows: number[][];
  predict: number[];
}
const want = JSON.parse(readFileSync(path.join(MODELS_DIR, `${NAME}.expected.json`), 'utf8')) as Want;

/** b + Σ w_j (x_j − μ_j) / σ_j in float64, and the size of its terms. */
function linear(row: readonly number[]): { y: number; size: number } {
  const w = want.weights;
  let y = w.intercept;
  let size = Math.abs(w.intercept);
  for (let j = 0; j < w.coef.length; j++) {
    const term =
      (w.coef[j] as number) *
      ((Math.fround(row[j] as number) - (w.scaler_mean[j] as number)) / (w.scaler_scale[j] as number));
    y += term;
    size += Math.abs(term);
  }
  return { y, size };
}

describe('a regression model', () => {
  let model: OnnxModel;
  beforeAll(async () => {
    model = await loadModelFile(FILE);
  });
  afterAll(() => model.close());

  it('binds its one value output and declares no classes', () => {
    expect(model.metadata).toMatchObject({ task: 'regression', classes: [], positiveClass: null });
    expect(model.binding).toEqual({ input: 'input', value: 'value', valueType: 'float32' });
  });

  it('values equal the linear formula and scikit-learn to 1e-6 of the sum’s size; labels are null', async () => {
    expect(want.rows).toHaveLength(500);
    const values = Float32Array.from(want.rows.flat());
    const result = await model.scoreMatrix({ values, rows: want.rows.length, layout: 'row-major' });
    expect([result.scored, result.failures, result.probabilities.length]).toEqual([500, [], 0]);
    expect(result.labels.every((l) => l === null)).toBe(true);
    let formula = 0;
    let sklearn = 0;
    want.rows.forEach((row, i) => {
      const got = result.scores[i] as number;
      const { y, size } = linear(row);
      formula = Math.max(formula, Math.abs(got - y) / size);
      sklearn = Math.max(sklearn, Math.abs(got - (want.predict[i] as number)) / size);
    });
    expect(formula).toBeLessThan(1e-6);
    expect(sklearn).toBeLessThan(1e-6);
    // Not vacuous: the model's predictions vary.
    expect(Math.max(...result.scores) - Math.min(...result.scores)).toBeGreaterThan(1);
  });

  it('refuses bad rows by the same rule as classifiers, scoring the rest in place', async () => {
    const rows = want.rows.slice(0, 3).map((r) => Object.fromEntries(FEATURES.map((n, j) => [n, r[j]])));
    rows[1] = { ...rows[1], AveRooms: Number.NaN };
    const result = await model.score(rows);
    expect(result.failures.map((f) => [f.row, f.reason])).toEqual([[1, 'not_finite']]);
    expect(result.scores[1]).toBeNaN();
    expect(result.scores[2]).toBeCloseTo(linear(want.rows[2] as number[]).y, 5);
  });
});

describe('regression metadata and graph checks', () => {
  const base = {
    task: 'regression',
    features: FEATURES.map((name) => ({ name, type: 'number' })),
  };
  const refusal = (value: unknown) => {
    try {
      parseMetadata(value, 'test');
    } catch (err) {
      expect(err).toMatchObject({ code: 'METADATA_INVALID' });
      return (err as Error).message;
    }
    throw new Error('accepted');
  };

  it('takes no classes and no positive class; classifiers still need classes', () => {
    expect(parseMetadata(base, 'test').outputs.value).toBe('value');
    expect(refusal({ ...base, classes: ['0', '1'] })).toMatch(
      /metadata\.classes: a regression model has no classes/,
    );
    expect(refusal({ ...base, positive_class: '1' })).toMatch(
      /metadata\.positive_class: a regression model has no/,
    );
    expect(refusal({ ...base, task: 'binary_classification', positive_class: '1' })).toMatch(
      /metadata\.classes: required for a classification model/,
    );
    expect(refusal({ ...base, task: 'forecast' })).toMatch(/metadata\.task/);
  });

  it('a regression declaration on a classifier graph, and the reverse, name the output', async () => {
    const core = new InferenceCore();
    try {
      await expect(
        core.load('a', {
          bytes: modelBytes('california-logistic'),
          metadata: { ...base, features: [...base.features, { name: 'MedInc', type: 'number' }] },
        }),
      ).rejects.toMatchObject({
        code: 'GRAPH_MISMATCH',
        message: expect.stringMatching(/no value output 'value'/) as string,
      });
      await expect(
        core.load('b', {
          bytes: new Uint8Array(readFileSync(FILE)),
          metadata: { ...base, outputs: { value: 'y' } },
        }),
      ).rejects.toMatchObject({
        code: 'GRAPH_MISMATCH',
        message: expect.stringMatching(/no value output 'y'/) as string,
      });
      await expect(
        core.load('c', {
          bytes: new Uint8Array(readFileSync(FILE)),
          metadata: { ...base, task: 'binary_classification', classes: ['0', '1'], positive_class: '1' },
        }),
      ).rejects.toMatchObject({
        code: 'GRAPH_MISMATCH',
        message: expect.stringMatching(/no label output 'label'/) as string,
      });
    } finally {
      await core.close();
    }
  });
});
