/**
 * Reads each benchmark's figures from what it prints (every benchmark runs in its own process:
 * the embedded engine binds one data path per process) and pairs each with its same-run baseline.
 */
export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
  /** value ÷ baseline, in the direction where higher is better for the figure. */
  ratio: number;
  higherIsBetter: boolean;
}

type Parser = (stdout: string) => Figure[];

/** The pattern's first group as a number (thousands separators allowed). */
function number(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  const value = match?.[1] === undefined ? Number.NaN : Number(match[1].replaceAll(',', ''));
  if (!Number.isFinite(value)) throw new Error(`no ${what} in the output`);
  return value;
}

function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error('no JSON report line in the output');
  return JSON.parse(line) as Record<string, unknown>;
}

function rate(
  bench: string,
  figure: string,
  value: number,
  unit: string,
  base: string,
  baseValue: number,
): Figure {
  return {
    bench,
    figure,
    value,
    unit,
    baseline: { name: base, value: baseValue },
    ratio: value / baseValue,
    higherIsBetter: true,
  };
}

/** A figure where lower is better: a time, CPU seconds, false alarms, a delay. */
function cost(
  bench: string,
  figure: string,
  value: number,
  base: string,
  baseValue: number,
  unit = 's',
): Figure {
  return {
    bench,
    figure,
    value,
    unit,
    baseline: { name: base, value: baseValue },
    ratio: value / baseValue,
    higherIsBetter: false,
  };
}

const ingest: Parser = (out) => [
  rate(
    'ingest',
    'pipeline (validated, stored, committed)',
    number(out, /modelwatch pipeline[^:]*: (\d+(?:\.\d+)?) events\/s/, 'pipeline rate'),
    'events/s',
    'bare kafkajs consumer (count only)',
    number(out, /bare kafkajs consumer[^:]*:\s+(\d+(?:\.\d+)?) events\/s/, 'bare consumer rate'),
  ),
];

const shadow: Parser = (out) => [
  rate(
    'shadow',
    'shadow scoring end to end (Kafka → shadow_scores)',
    number(out, /shadow end to end[^:]*: (\d+(?:\.\d+)?) rows\/s/, 'end-to-end rate'),
    'rows/s',
    'inference core alone',
    number(out, /inference core alone[^:]*: (\d+(?:\.\d+)?) rows\/s/, 'core rate'),
  ),
];

const metrics: Parser = (out) => {
  const report = lastJson(out) as {
    phases?: { phase: string; baseline_ms: number; cold_ms: number; warm_ms: number[] }[];
  };
  return (report.phases ?? []).flatMap((p) => {
    const warm = [...p.warm_ms].sort((a, b) => a - b)[p.warm_ms.length >> 1];
    const base = 'serving metrics alone (no labels, no join)';
    return [
      cost('metrics', `metrics route, cold (${p.phase})`, p.cold_ms / 1000, base, p.baseline_ms / 1000),
      ...(warm === undefined
        ? []
        : [
            cost(
              'metrics',
              `metrics route, warm median (${p.phase})`,
              warm / 1000,
              base,
              p.baseline_ms / 1000,
            ),
          ]),
    ];
  });
};

interface Timing {
  wall: number;
  cpu: number;
}

/** Drift's timings are wall and CPU seconds; wall is shown (CPU is in the JSON report). */
const drift: Parser = (out) => {
  const report = lastJson(out) as {
    service?: { baselineScan: Timing; readWindow: Timing; methods: { method: string; endToEnd: Timing }[] };
    offline?: { runs: { label: string; seconds: Timing }[] };
  };
  const service = report.service;
  if (!service) throw new Error('no service figures in the drift report');
  const base = 'plain scan of the window';
  const scan = service.baselineScan.wall;
  const figures = [
    cost('drift', 'read the window', service.readWindow.wall, base, scan),
    ...service.methods.map((m) =>
      cost('drift', `drift route end to end, ${m.method}`, m.endToEnd.wall, base, scan),
    ),
  ];
  // Offline runs come per file format, each after its own baseline (a plain parse of the same files).
  let baseline: { label: string; seconds: Timing } | undefined;
  for (const run of report.offline?.runs ?? []) {
    if (run.label.startsWith('baseline')) baseline = run;
    else if (baseline)
      figures.push(
        cost(
          'drift',
          `offline: ${run.label}`,
          run.seconds.wall,
          `offline ${baseline.label}`,
          baseline.seconds.wall,
        ),
      );
  }
  return figures;
};

/**
 * The summary's line per engine set-up (one connection before the pool, the pool after): the burst's
 * p50 and rate beside one request alone on the same set-up, as a time and as a rate.
 */
const metricsApi: Parser = (out) => {
  const concurrent = number(out, /summary \((\d+) concurrent/, 'summary');
  const lines = [
    ...out.matchAll(/^ {4}(.+?) +alone +(\d+) ms +p50 +(\d+) ms +p95 +\d+ ms +(\d+(?:\.\d+)?) req\/s/gm),
  ];
  if (lines.length === 0) throw new Error('no summary lines in the output');
  return lines.flatMap(([, name = '', alone, p50, perSecond]) => {
    const setUp = /\((before|after)\)$/.exec(name)?.[1] ?? name;
    const base = `one request alone (${setUp})`;
    return [
      cost('metrics-api', `${concurrent} concurrent, p50 (${setUp})`, Number(p50), base, Number(alone), 'ms'),
      rate(
        'metrics-api',
        `${concurrent} concurrent, requests/s (${setUp})`,
        Number(perSecond),
        'requests/s',
        `${base}, as a rate`,
        1000 / Number(alone),
      ),
    ];
  });
};

/**
 * River 0.26.1's figures over the 100 runs of each stream (src/change-detection/README.md), rounded
 * as the benchmark prints its own: false alarms per 1,000 values on a stationary 10% error rate, the
 * median delay on 10% → 30%. The test holds them to River's detections in
 * test/fixtures/change-detection (not shipped with the package, hence written here).
 */
export const RIVER_FIGURES: ReadonlyMap<string, { falseAlarmsPer1000: number; medianDelay: number }> =
  new Map([
    ['50, 0.005, both', { falseAlarmsPer1000: 0.006, medianDelay: 232 }],
    ['20, 0.005, both', { falseAlarmsPer1000: 0.193, medianDelay: 85 }],
    ['10, 0.01, up', { falseAlarmsPer1000: 0.41, medianDelay: 41 }],
  ]);
export const RIVER_RUNS = 100;
const STATIONARY = 'stationary error rate 0.1';
const CHANGED = 'error rate 0.1 -> 0.3';

/**
 * One row of the markdown table, as cells: parameters, stream, false alarms per 1,000, runs with
 * one (`6/100`), missed, mean delay, median delay.
 */
function detectionRow(out: string, parameters: string, stream: string): string[] {
  const row = out
    .split('\n')
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    )
    .find((cells) => cells[0] === parameters && cells[1] === stream);
  if (!row) throw new Error(`no row for ${parameters} on ${stream} in the output`);
  const runs = Number(row[3]?.split('/')[1]);
  if (runs !== RIVER_RUNS) throw new Error(`River's figures are over ${RIVER_RUNS} runs, not ${runs}`);
  return row;
}

/** Not a timing: the detector's figures beside River's on the same streams (1.00 while they agree). */
const changeDetection: Parser = (out) =>
  [...RIVER_FIGURES].flatMap(([parameters, river]) => [
    cost(
      'change-detection',
      `false alarms, ${STATIONARY} (${parameters})`,
      Number(detectionRow(out, parameters, STATIONARY)[2]),
      'River 0.26.1, same streams',
      river.falseAlarmsPer1000,
      'per 1,000 values',
    ),
    cost(
      'change-detection',
      `median delay, ${CHANGED} (${parameters})`,
      Number(detectionRow(out, parameters, CHANGED)[6]),
      'River 0.26.1, same streams',
      river.medianDelay,
      'values',
    ),
  ]);

/** Each input layout's rows/s beside the row-major matrix's (the layout the shadow feed hands the core). */
const inference: Parser = (out) => {
  const rowsPerSecond = (layout: string) =>
    number(out, new RegExp(`^ +${layout} +[\\d.]+ ms +([\\d,]+) rows/s`, 'm'), `${layout} rate`);
  const base = rowsPerSecond('row-major Float32Array');
  return ['column-major Float32Array', 'objects'].map((layout) =>
    rate(
      'inference',
      `core from ${layout}`,
      rowsPerSecond(layout),
      'rows/s',
      'core from row-major Float32Array',
      base,
    ),
  );
};

/** Each step of the shadow feed beside the inference core's share of the same rows. */
const shadowSteps: Parser = (out) => {
  const cpu = (step: string) =>
    number(out, new RegExp(`[:,;] ${step} (\\d+(?:\\.\\d+)?)`), `${step} CPU seconds`);
  const core = cpu('core');
  return ['batch query', 'JavaScript', 'insert', 'total'].map((step) =>
    cost('shadow-steps', `${step}, per 100,000 rows`, cpu(step), 'inference core alone', core, 'CPU s'),
  );
};

export interface BenchPlan {
  /** Options for the nameless run: modest sizes, the whole run a few minutes on 2 cores. */
  args: string[];
  parse: Parser;
}

/**
 * Every benchmark a capability registers, by its name (the nameless run goes through the registered
 * names: one missing here is reported as failed, and test/unit/cli fails first).
 */
export const BENCH_PLANS: ReadonlyMap<string, BenchPlan> = new Map([
  ['ingest', { args: ['--events', '50000', '--rate', '2000', '--seconds', '5'], parse: ingest }],
  ['metrics', { args: ['--rows', '500000', '--warm', '3'], parse: metrics }],
  ['metrics-api', { args: ['--rows', '200000', '--concurrency', '100'], parse: metricsApi }],
  ['drift', { args: ['--rows', '50000', '--features', '10'], parse: drift }],
  ['change-detection', { args: ['--runs', String(RIVER_RUNS)], parse: changeDetection }],
  ['inference', { args: ['--rows', '200000'], parse: inference }],
  ['shadow', { args: ['--rows', '50000'], parse: shadow }],
  ['shadow-steps', { args: ['--rows', '100000'], parse: shadowSteps }],
]);

const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3));

/** A fixed-width table: one line per figure, its baseline and the ratio beside it. */
export function formatFigures(
  figures: readonly Figure[],
  failed: readonly { bench: string; error: string }[],
): string {
  const rows = figures.map((f) => [
    f.bench,
    f.figure,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline.name,
    `${fmt(f.baseline.value)} ${f.unit}`,
    `${f.ratio >= 0.01 ? f.ratio.toFixed(2) : f.ratio.toPrecision(2)}×`,
  ]);
  const header = ['bench', 'figure', 'value', 'same-run baseline', 'baseline', 'ratio'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line), ...failed.map((f) => `${f.bench}: FAILED — ${f.error}`), ''].join(
    '\n',
  );
}
