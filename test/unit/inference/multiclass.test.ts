import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, loadModelFile } from '../../../src/inference/index.js';
import { asObjects, CALIFORNIA_FEATURES, type Expected } from './models.js';

const FILE = path.resolve(import.meta.dirname, '../../fixtures/inference/california-income-tertile.onnx');
const want = JSON.parse(readFileSync(FILE.replace(/\.onnx$/, '.expected.json'), 'utf8')) as Expected & {
  predict_proba: number[][];
};
const features = CALIFORNIA_FEATURES.slice(1);

/** Three string classes: a string label tensor and probabilities [N, 3] (tools/models/train.py). */
describe('a multiclass model with string classes against scikit-learn', () => {
  it('probabilities equal predict_proba to 1e-6, labels equal predict, scores are the label’s probability', async () => {
    const model = await loadModelFile(FILE);
    expect(model.metadata).toMatchObject({
      task: 'multiclass_classification',
      classes: ['high', 'low', 'mid'],
      positiveClass: null,
    });
    expect(model.binding.labelType).toBe('string');
    const result = await model.score(asObjects(want.rows, features));
    expect(result.scored).toBe(want.rows.length);
    expect(result.labels).toEqual(want.predict);
    expect(new Set(want.predict).size).toBe(3);
    let worst = 0;
    want.predict_proba.forEach((probs, i) => {
      probs.forEach(
        (p, k) => (worst = Math.max(worst, Math.abs((result.probabilities[3 * i + k] as number) - p))),
      );
      const k = model.metadata.classes.indexOf(result.labels[i] as string);
      expect(result.scores[i]).toBe(result.probabilities[3 * i + k]);
    });
    expect(worst).toBeLessThan(1e-6);
    await model.close();
  });

  it('with a positive class named, scores are that class’s probability', async () => {
    const sidecar = JSON.parse(readFileSync(FILE.replace(/\.onnx$/, '.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const model = await loadModel({
      bytes: readFileSync(FILE),
      metadata: { ...sidecar, positive_class: 'high' },
    });
    const result = await model.score(asObjects(want.rows.slice(0, 20), features));
    want.predict_proba
      .slice(0, 20)
      .forEach(([high], i) => expect(Math.abs((result.scores[i] as number) - high)).toBeLessThan(1e-6));
    await model.close();
  });
});
