import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectChanges, PageHinkley } from '../../../src/change-detection/page-hinkley.js';
import {
  detectionFigures,
  generateStream,
  mulberry32,
  SCENARIOS,
  seeds,
} from '../../../src/change-detection/streams.js';

interface RiverFixture {
  river: string;
  runs: number;
  results: {
    parameters: {
      min_instances: number;
      delta: number;
      threshold: number;
      alpha: number;
      mode: 'up' | 'down' | 'both';
    };
    scenario: string;
    detections: number[][];
  }[];
}

// Written by bench/tools/river_page_hinkley.py (River 0.26.1) on the same generated streams.
const river = JSON.parse(
  readFileSync(new URL('../../fixtures/change-detection/river-page-hinkley.json', import.meta.url), 'utf8'),
) as RiverFixture;

describe('mulberry32', () => {
  it('gives the values the Python port gives for seed 1', () => {
    const next = mulberry32(1);
    expect([next(), next(), next()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});

describe('PageHinkley', () => {
  it('detects a step up in a constant stream after about threshold / step values', () => {
    const values = [...Array<number>(100).fill(0), ...Array<number>(100).fill(1)];
    // After the step the deviation from the running mean shrinks as the mean moves: detected
    // at the first value whose cumulative deviation passes 10 (threshold), hand-computed here.
    const found = detectChanges(values, { threshold: 10, delta: 0, alpha: 1 });
    expect(found.length).toBeGreaterThan(0);
    const first = found[0]!;
    let mean = 0;
    let sum = 0;
    let min = Infinity;
    let expected = -1;
    for (let i = 0; i < values.length && expected < 0; i++) {
      mean += (values[i]! - mean) / (i + 1);
      sum += values[i]! - mean;
      min = Math.min(min, sum);
      if (i + 1 >= 30 && sum - min > 10) expected = i;
    }
    expect(first).toBe(expected);
    expect(first).toBeGreaterThan(100);
    expect(first).toBeLessThan(130);
  });

  it('detects nothing in a constant stream', () => {
    expect(detectChanges(new Float64Array(5_000).fill(0.3))).toEqual([]);
  });

  it('mode up ignores a decrease that mode down detects', () => {
    const values = [...Array<number>(200).fill(1), ...Array<number>(200).fill(0)];
    expect(detectChanges(values, { mode: 'up', threshold: 10 })).toEqual([]);
    expect(detectChanges(values, { mode: 'down', threshold: 10 }).length).toBeGreaterThan(0);
  });

  it('waits for minInstances values before detecting, and starts over after a detection', () => {
    const values = [10, ...Array<number>(50).fill(0)];
    const late = detectChanges(values, { threshold: 1, minInstances: 40, delta: 0 });
    expect(late[0]).toBe(39);
    const detector = new PageHinkley({ threshold: 1, minInstances: 2, delta: 0 });
    detector.update(0);
    expect(detector.update(100)).toBe(true);
    detector.update(5);
    expect(detector.count).toBe(1);
    expect(detector.runningMean).toBe(5);
  });
});

describe('PageHinkley against River 0.26.1 on the same streams', () => {
  it('the fixture covers every scenario with each parameter set', () => {
    expect(river.river).toBe('0.26.1');
    expect(river.results.length).toBe(SCENARIOS.length * 3);
    expect(new Set(river.results.map((r) => r.scenario))).toEqual(new Set(SCENARIOS.map((s) => s.name)));
  });

  it.each(river.results.map((r, i) => [i, r.parameters.threshold, r.scenario] as const))(
    'result %i (threshold %d, %s): the same detections on every run, so the same figures',
    (i) => {
      const result = river.results[i]!;
      const scenario = SCENARIOS.find((s) => s.name === result.scenario)!;
      const p = result.parameters;
      const ours = seeds(river.runs).map((seed) =>
        detectChanges(generateStream(scenario, seed), {
          minInstances: p.min_instances,
          delta: p.delta,
          threshold: p.threshold,
          alpha: p.alpha,
          mode: p.mode,
        }),
      );
      expect(ours).toEqual(result.detections);
      expect(detectionFigures(scenario, ours)).toEqual(detectionFigures(scenario, result.detections));
    },
  );
});

describe('detectionFigures', () => {
  it('counts false alarms before the change, the first detection after it as the delay, and misses', () => {
    const scenario = SCENARIOS.find((s) => s.changeAt === 5_000)!;
    const figures = detectionFigures(scenario, [[100, 5_010, 6_000], [5_030], []]);
    expect(figures).toEqual({
      runs: 3,
      falseAlarms: 1,
      falseAlarmsPer1000: 1000 / (5_000 * 3),
      runsWithFalseAlarm: 1,
      missed: 1,
      meanDelay: 20,
      medianDelay: 20,
    });
  });
});
