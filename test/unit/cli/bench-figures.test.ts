import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { registeredBenches } from '../../../src/cli/commands/bench-all.js';
import {
  BENCH_PLANS,
  formatFigures,
  RIVER_FIGURES,
  RIVER_RUNS,
} from '../../../src/cli/commands/bench-figures.js';
import { detectionFigures, SCENARIOS } from '../../../src/change-detection/streams.js';

const fixture = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/bench/${file}`, import.meta.url), 'utf8')) as Record<
    string,
    string
  >;
/**
 * What each benchmark printed in real runs of `modelwatch bench` on this machine: ingest, metrics,
 * drift and shadow on 2026-12-02, the others in the first nameless run that took them (2026-12-07).
 */
const outputs = { ...fixture('outputs.json'), ...fixture('outputs-2026-12-07.json') };
const parse = (name: string, out = outputs[name]!) => BENCH_PLANS.get(name)!.parse(out);

describe('bench without a name: figures beside their same-run baselines', () => {
  it('has options and a parser for every benchmark a capability registers, and for no other', () => {
    const registered = registeredBenches();
    expect(registered).toContain('shadow-steps');
    expect(registered.filter((name) => !BENCH_PLANS.has(name))).toEqual([]);
    expect([...BENCH_PLANS.keys()].sort()).toEqual([...registered].sort());
  });

  it('reads every captured output without error, each figure positive beside a positive baseline', () => {
    for (const name of BENCH_PLANS.keys()) {
      const figures = parse(name);
      expect(figures.length, name).toBeGreaterThan(0);
      expect(
        figures.every((f) => f.bench === name && f.value > 0 && f.baseline.value > 0),
        name,
      ).toBe(true);
    }
  });

  it('reads rates and pairs them with the bare consumer and the core alone', () => {
    const [ingest] = parse('ingest');
    expect(ingest).toMatchObject({
      value: 2877,
      unit: 'events/s',
      baseline: { value: 32083 },
      higherIsBetter: true,
    });
    expect(ingest!.ratio).toBeCloseTo(2877 / 32083, 12);
    const [shadow] = parse('shadow');
    expect(shadow).toMatchObject({ value: 8303, baseline: { name: 'inference core alone', value: 6693617 } });
  });

  it("reads the metrics and drift JSON reports, each offline run beside its own format's parse", () => {
    const metrics = parse('metrics');
    expect(metrics.map((f) => [f.value, f.baseline.value])).toEqual([
      [0.949, 0.094],
      [0.638, 0.094],
      [1.177, 0.351],
      [1.288, 0.351],
    ]);
    const drift = parse('drift');
    expect(drift).toHaveLength(8);
    expect(
      drift.every((f) => f.unit === 's' && !f.higherIsBetter && f.value > 0 && f.baseline.value > 0),
    ).toBe(true);
    const parquet = drift.find((f) => f.figure.includes('(parquet)'))!;
    expect(parquet.baseline.name).toContain('parquet');
  });

  it("reads metrics-api's summary: each set-up's burst beside one request alone on the same set-up", () => {
    const figures = parse('metrics-api');
    expect(figures.map((f) => [f.figure, f.value, f.unit, f.baseline.name, f.higherIsBetter])).toEqual([
      ['100 concurrent, p50 (before)', 4218, 'ms', 'one request alone (before)', false],
      [
        '100 concurrent, requests/s (before)',
        17.5,
        'requests/s',
        'one request alone (before), as a rate',
        true,
      ],
      ['100 concurrent, p50 (after)', 2613, 'ms', 'one request alone (after)', false],
      [
        '100 concurrent, requests/s (after)',
        24.5,
        'requests/s',
        'one request alone (after), as a rate',
        true,
      ],
    ]);
    expect(figures.map((f) => f.baseline.value)).toEqual([49, 1000 / 49, 46, 1000 / 46]);
  });

  it("reads change-detection's table beside River's figures for the same streams", () => {
    const figures = parse('change-detection');
    expect(figures.map((f) => [f.figure, f.value, f.baseline.value])).toEqual([
      ['false alarms, stationary error rate 0.1 (50, 0.005, both)', 0.006, 0.006],
      ['median delay, error rate 0.1 -> 0.3 (50, 0.005, both)', 232, 232],
      ['false alarms, stationary error rate 0.1 (20, 0.005, both)', 0.193, 0.193],
      ['median delay, error rate 0.1 -> 0.3 (20, 0.005, both)', 85, 85],
      ['false alarms, stationary error rate 0.1 (10, 0.01, up)', 0.41, 0.41],
      ['median delay, error rate 0.1 -> 0.3 (10, 0.01, up)', 41, 41],
    ]);
    expect(figures.every((f) => f.ratio === 1 && !f.higherIsBetter)).toBe(true);
  });

  it("holds River's figures to River's own detections (bench/tools/river_page_hinkley.py)", () => {
    const river = JSON.parse(
      readFileSync(
        new URL('../../fixtures/change-detection/river-page-hinkley.json', import.meta.url),
        'utf8',
      ),
    ) as {
      runs: number;
      results: {
        parameters: { threshold: number; delta: number; mode: string };
        scenario: string;
        detections: number[][];
      }[];
    };
    expect(river.runs).toBe(RIVER_RUNS);
    const figures = (parameters: string, stream: string) => {
      const result = river.results.find(
        (r) =>
          `${r.parameters.threshold}, ${r.parameters.delta}, ${r.parameters.mode}` === parameters &&
          r.scenario === stream,
      )!;
      return detectionFigures(
        SCENARIOS.find((s) => s.name === stream)!,
        result.detections,
      );
    };
    // Rounded as the benchmark prints its own: false alarms to 3 decimals, the median delay to a value.
    for (const [parameters, published] of RIVER_FIGURES) {
      const stationary = figures(parameters, 'stationary error rate 0.1');
      expect(stationary.falseAlarmsPer1000.toFixed(3)).toBe(published.falseAlarmsPer1000.toFixed(3));
      expect(figures(parameters, 'error rate 0.1 -> 0.3').medianDelay?.toFixed(0)).toBe(
        String(published.medianDelay),
      );
    }
  });

  it("reads inference's layouts beside the row-major matrix, and shadow-steps' steps beside the core", () => {
    expect(parse('inference').map((f) => [f.figure, f.value, f.baseline.value, f.higherIsBetter])).toEqual([
      ['core from column-major Float32Array', 5807309, 5965063, true],
      ['core from objects', 4995627, 5965063, true],
    ]);
    const steps = parse('shadow-steps');
    expect(steps.map((f) => [f.figure, f.value])).toEqual([
      ['batch query, per 100,000 rows', 0.384],
      ['JavaScript, per 100,000 rows', 0.123],
      ['insert, per 100,000 rows', 0.117],
      ['total, per 100,000 rows', 0.665],
    ]);
    expect(steps.every((f) => f.baseline.name === 'inference core alone' && f.baseline.value === 0.041)).toBe(
      true,
    );
  });

  it('says what is missing from an output it cannot read', () => {
    expect(() => parse('ingest', 'producing…\n')).toThrow('no pipeline rate in the output');
    expect(() => parse('metrics', 'no json here')).toThrow('no JSON report line');
    expect(() => parse('drift', '{"rows":1}')).toThrow('no service figures');
    expect(() => parse('metrics-api', '  summary (100 concurrent; same run, same data):\n')).toThrow(
      'no summary lines',
    );
    expect(() => parse('inference', 'inference core: …\n')).toThrow('no row-major Float32Array rate');
    expect(() => parse('shadow-steps', 'shadow feed steps: batch query 0.1\n')).toThrow(
      'no core CPU seconds',
    );
    // River's figures hold for its 100 runs only: a shorter run is refused, not compared.
    const twentyRuns = outputs['change-detection']!.replaceAll('/100 |', '/20 |');
    expect(() => parse('change-detection', twentyRuns)).toThrow("River's figures are over 100 runs, not 20");
  });

  it('prints one table with the failures listed after it', () => {
    const table = formatFigures(parse('shadow'), [{ bench: 'ingest', error: 'exit 1: broker unreachable' }]);
    expect(table.split('\n')[0]).toMatch(/^bench +figure +value +same-run baseline +baseline +ratio$/);
    expect(table).toContain('8,303 rows/s');
    expect(table).toContain('0.0012×');
    expect(table).toContain('ingest: FAILED — exit 1: broker unreachable');
  });
});
