/** Fixtures of the calibrator tests (cbpe-regressions, cbpe-refits). */
import type { VersionRecord } from '../../../src/performance-estimation/service/calibrators.js';

/**
 * `n` scores in [0, 1] and labels drawn as Bernoulli(score²), from `seed`: miscalibrated, so
 * calibration helps.
 */
export function reference(n: number, seed = 7): { scores: Float64Array; labels: Uint8Array } {
  let state = seed;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const scores = new Float64Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    scores[i] = Math.round(random() * 1000) / 1000;
    labels[i] = random() < scores[i]! ** 2 ? 1 : 0;
  }
  return { scores, labels };
}

export const version: VersionRecord = {
  model_id: 'm',
  model_version: '1',
  task: 'binary_classification',
  positive_class: '1',
};

/** A drift reference taken from a range, revision 1. */
export const rangeReference = {
  reference: () => Promise.resolve({ source: 'range', from: 0, to: 1000, revision: 1 } as never),
};
