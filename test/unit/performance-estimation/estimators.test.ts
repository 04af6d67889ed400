import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimate, round5 } from '../../../src/performance-estimation/estimators.js';

/** NannyML 0.13.1's estimate_roc_auc / _accuracy / _precision / _recall / _f1: tools/cbpe/expected.py. */
interface EstimatorCase {
  name: string;
  y_pred: number[];
  calibrated: number[];
  scores: number[];
  roc_auc: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}
const { estimators } = JSON.parse(
  readFileSync(new URL('../../fixtures/cbpe/unit-cases.json', import.meta.url), 'utf8'),
) as { estimators: EstimatorCase[] };

describe("CBPE estimators as NannyML's", () => {
  it.each(estimators.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rows = c.calibrated.map((p, i) => ({
      p,
      predictedPositive: c.y_pred[i] === 1,
      score: c.scores[i]!,
    }));
    const got = estimate(rows);
    for (const metric of ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'] as const) {
      const want = c[metric];
      if (want === null) expect(got[metric], metric).toBeNull();
      else expect(got[metric], metric).toBeCloseTo(want, 12);
    }
  });

  it('has no estimate for an empty bucket', () => {
    expect(estimate([])).toEqual({ roc_auc: null, accuracy: null, precision: null, recall: null, f1: null });
  });

  it("rounds as NumPy's round(x, 5): half to even", () => {
    // numpy.round([0.125, 1.000005, 2.5e-5, 3.5e-5, -2.5e-5], 5) and ([-4.5e-5, 4.5e-5], 5) with NumPy 2.4.6.
    expect([round5(0.125), round5(1.000005), round5(2.5e-5), round5(3.5e-5), round5(-2.5e-5)]).toEqual([
      0.125, 1.0, 2e-5, 3e-5, -2e-5,
    ]);
    expect([round5(-4.5e-5), round5(4.5e-5)]).toEqual([-4e-5, 4e-5]);
  });
});
