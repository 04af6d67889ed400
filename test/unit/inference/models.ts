/** The committed test models (data/models/, built by tools/models/train.py) and their expectations. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FEATURES as CALIFORNIA_FEATURES } from '../../../src/simulator/data.js';

export const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../data/models');
export const FIXTURES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../fixtures/drift',
);

export { CALIFORNIA_FEATURES };

export type ModelName = 'california-logistic' | 'california-forest' | 'synthetic-logistic-10';

export const modelFile = (name: ModelName) => path.join(MODELS_DIR, `${name}.onnx`);
export const modelBytes = (name: ModelName) => new Uint8Array(readFileSync(modelFile(name)));
export const sidecar = (name: ModelName): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(MODELS_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

/** What scikit-learn computed, stored beside the artifact. */
export interface Expected {
  weights?: { scaler_mean: number[]; scaler_scale: number[]; coef: number[]; intercept: number };
  rows: number[][];
  predict_proba: [number, number][];
  predict: string[];
}

export const expected = (name: ModelName): Expected =>
  JSON.parse(readFileSync(path.join(MODELS_DIR, `${name}.expected.json`), 'utf8')) as Expected;

/** Rows as objects keyed by feature name. */
export function asObjects(
  rows: readonly (readonly number[])[],
  names: readonly string[],
): Record<string, number>[] {
  return rows.map((row) => Object.fromEntries(names.map((n, j) => [n, row[j] as number])));
}

/** The 8 features of every row of the analysis fixture (plain numeric CSV, no quoting). */
export function analysisRows(): number[][] {
  const [header, ...lines] = readFileSync(path.join(FIXTURES_DIR, 'california_housing_analysis.csv'), 'utf8')
    .trim()
    .split('\n');
  const columns = (header ?? '').split(',');
  const index = CALIFORNIA_FEATURES.map((f) => columns.indexOf(f));
  return lines.map((line) => {
    const cells = line.split(',');
    return index.map((i) => Number(cells[i]));
  });
}

/**
 * The logistic model at the graph's precision: skl2onnx stores the scaler as float32 `offset = μ`
 * and `scale = 1 / σ` (ONNX `Scaler`), the coefficients and intercept as float32 (`LinearClassifier`),
 * and onnxruntime computes in float32. Each step is rounded to float32 here, so only summation
 * order and `exp` separate this from the graph.
 */
export function logisticProbability32(
  weights: NonNullable<Expected['weights']>,
  row: readonly number[],
): number {
  const f = Math.fround;
  let z = f(weights.intercept);
  for (let j = 0; j < weights.coef.length; j++) {
    const y = f(
      f(f(row[j] as number) - f(weights.scaler_mean[j] as number)) *
        f(1 / (weights.scaler_scale[j] as number)),
    );
    z = f(z + f(f(weights.coef[j] as number) * y));
  }
  return f(1 / f(1 + f(Math.exp(-z))));
}

/**
 * The logistic model computed in float64 from scikit-learn's exported weights, on the
 * float32-rounded inputs the graph sees: p = 1 / (1 + exp(−(b + Σ w_j (x_j − μ_j) / σ_j))).
 */
export function logisticProbability(
  weights: NonNullable<Expected['weights']>,
  row: readonly number[],
): number {
  let z = weights.intercept;
  for (let j = 0; j < weights.coef.length; j++) {
    const x = Math.fround(row[j] as number);
    z +=
      ((weights.coef[j] as number) * (x - (weights.scaler_mean[j] as number))) /
      (weights.scaler_scale[j] as number);
  }
  return 1 / (1 + Math.exp(-z));
}
