import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitIsotonic, predictIsotonic } from '../../../src/performance-estimation/calibration/isotonic.js';
import {
  binIndexEdges,
  needsCalibration,
} from '../../../src/performance-estimation/calibration/needs-calibration.js';
import { RandomState } from '../../../src/performance-estimation/calibration/random-state.js';
import { stratifiedShuffleSplit } from '../../../src/performance-estimation/calibration/stratified-split.js';

/** Expected values from scikit-learn 1.9.1 and NannyML 0.13.1: tools/cbpe/expected.py. */
interface Cases {
  isotonic: {
    name: string;
    x: number[];
    y: number[];
    thresholds_x: number[];
    thresholds_y: number[];
    probes: number[];
    predicted: number[];
  }[];
  calibration: {
    name: string;
    y_true: number[];
    scores: number[];
    needs_calibration: boolean;
    needs_calibration_stable?: boolean;
    first_split?: { train: number[]; test: number[] };
    ece_before?: number;
    ece_after?: number;
  }[];
}
const cases = JSON.parse(
  readFileSync(new URL('../../fixtures/cbpe/unit-cases.json', import.meta.url), 'utf8'),
) as Cases;

describe('isotonic regression as scikit-learn (increasing, out_of_bounds=clip)', () => {
  it.each(cases.isotonic.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const model = fitIsotonic(c.x, c.y);
    expect(model.x).toEqual(c.thresholds_x);
    expect(model.y).toHaveLength(c.thresholds_y.length);
    model.y.forEach((v, i) => expect(v).toBeCloseTo(c.thresholds_y[i]!, 14));
    c.probes.forEach((probe, i) =>
      expect(predictIsotonic(model, probe), `predict(${probe})`).toBeCloseTo(c.predicted[i]!, 14),
    );
  });

  it('merges equal scores into their mean before pooling, and clips outside the fitted range', () => {
    const model = fitIsotonic([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]);
    expect(model).toEqual({ x: [0.2, 0.5, 0.9], y: [0, 0.5, 1] });
    expect([predictIsotonic(model, -3), predictIsotonic(model, 7), predictIsotonic(model, 0.7)]).toEqual([
      0, 1, 0.75,
    ]);
  });

  it('refuses mismatched or empty input', () => {
    expect(() => fitIsotonic([1, 2], [1])).toThrow(/x has 2 values, y 1/);
    expect(() => fitIsotonic([], [])).toThrow(/at least one row/);
  });
});

describe("NumPy's legacy RandomState(42) and scikit-learn's StratifiedShuffleSplit", () => {
  it('draws the 32-bit outputs of MT19937 seeded by init_genrand', () => {
    // numpy.random.RandomState(42).randint(0, 2**32, size=3, dtype=np.uint64)... as raw outputs:
    // MT19937 init_genrand(42): 1608637542, 3421126067, 4083286876 (the reference C implementation).
    const rng = new RandomState(42);
    expect([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()]).toEqual([
      1608637542, 3421126067, 4083286876,
    ]);
  });

  it.each(cases.calibration.filter((c) => c.first_split).map((c) => [c.name, c] as const))(
    'the first fold of %s',
    (_name, c) => {
      const result = stratifiedShuffleSplit(c.y_true);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.splits).toHaveLength(10);
      expect(result.splits[0]).toEqual(c.first_split);
    },
  );
});

describe("NannyML's calibration decision", () => {
  it.each(cases.calibration.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const decision = needsCalibration(c.y_true, c.scores);
    // Where NannyML's unstable sort puts tied scores across a bin edge, the stable order decides.
    expect(decision.calibrate).toBe(c.needs_calibration_stable ?? c.needs_calibration);
    if (decision.reason === 'ece') {
      expect(decision.eceBefore).toBeCloseTo(c.ece_before!, 12);
      expect(decision.eceAfter).toBeCloseTo(c.ece_after!, 12);
    }
  });

  it('agrees with NannyML on every case but the one whose tied scores straddle a bin edge', () => {
    const differ = cases.calibration
      .filter((c) => needsCalibration(c.y_true, c.scores).calibrate !== c.needs_calibration)
      .map((c) => c.name);
    expect(differ).toEqual(['scores exactly 0 and 1']);
  });

  it('takes no calibration for one class, and bins as NannyML', () => {
    expect(needsCalibration([1, 1, 1], [0.2, 0.5, 0.9])).toMatchObject({
      calibrate: false,
      reason: 'single_class',
    });
    expect(binIndexEdges(20, 4)).toEqual([
      [0, 5],
      [5, 10],
      [10, 15],
      [15, 20],
    ]);
    expect(binIndexEdges(23, 10)).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
      [6, 8],
      [8, 10],
      [10, 12],
      [12, 14],
      [14, 16],
      [16, 18],
      [18, 20],
      [20, 23],
    ]);
    expect(binIndexEdges(3)).toBeUndefined();
  });
});
