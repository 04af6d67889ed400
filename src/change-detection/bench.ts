/**
 * `modelwatch bench change-detection`: Page-Hinkley's figures on the generated streams of
 * streams.ts, for each parameter set the River comparison uses (bench/tools/river_page_hinkley.py
 * writes River's detections on the same streams; the unit test holds the two equal).
 */
import type { Bench } from '../platform/cli/index.js';
import { parseOptions, UsageError } from '../platform/cli/index.js';
import { detectChanges, type PageHinkleyOptions } from './page-hinkley.js';
import { detectionFigures, generateStream, SCENARIOS, seeds, type DetectionFigures } from './streams.js';

const usage = 'modelwatch bench change-detection [--runs N]';

/** River's defaults, then two more sensitive settings. */
export const PARAMETER_SETS: readonly Required<PageHinkleyOptions>[] = [
  { minInstances: 30, delta: 0.005, threshold: 50, alpha: 1 - 0.0001, mode: 'both' },
  { minInstances: 30, delta: 0.005, threshold: 20, alpha: 1 - 0.0001, mode: 'both' },
  { minInstances: 30, delta: 0.01, threshold: 10, alpha: 1 - 0.0001, mode: 'up' },
];

export interface FigureRow {
  parameters: Required<PageHinkleyOptions>;
  scenario: string;
  figures: DetectionFigures;
}

export function runFigures(runs: number): FigureRow[] {
  const rows: FigureRow[] = [];
  for (const parameters of PARAMETER_SETS)
    for (const scenario of SCENARIOS) {
      const detections = seeds(runs).map((seed) => detectChanges(generateStream(scenario, seed), parameters));
      rows.push({ parameters, scenario: scenario.name, figures: detectionFigures(scenario, detections) });
    }
  return rows;
}

const fmt = (x: number | null, digits = 1) => (x === null ? '-' : x.toFixed(digits));

export const changeDetectionBench: Bench = {
  run(args) {
    const { values } = parseOptions(args, { runs: { type: 'string' } }, usage);
    const runs = values.runs === undefined ? 100 : Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1 || runs > 10_000)
      throw new UsageError(`--runs: a whole number in 1..10000, not '${values.runs}'; usage: ${usage}`);
    const lines = [
      '| threshold, delta, mode | stream | false alarms per 1,000 values | runs with a false alarm | missed | mean delay | median delay |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const { parameters: p, scenario, figures: f } of runFigures(runs)) {
      lines.push(
        `| ${p.threshold}, ${p.delta}, ${p.mode} | ${scenario} | ${f.falseAlarmsPer1000.toFixed(3)} | ${f.runsWithFalseAlarm}/${f.runs} | ${f.missed} | ${fmt(f.meanDelay)} | ${fmt(f.medianDelay, 0)} |`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return Promise.resolve();
  },
};
