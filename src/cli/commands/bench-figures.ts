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

function number(text: string, pattern: RegExp, what: string): number {
  const match = pattern.exec(text);
  const value = match ? Number(match[1]) : Number.NaN;
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

function time(bench: string, figure: string, value: number, base: string, baseValue: number): Figure {
  return {
    bench,
    figure,
    value,
    unit: 's',
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
      time('metrics', `metrics route, cold (${p.phase})`, p.cold_ms / 1000, base, p.baseline_ms / 1000),
      ...(warm === undefined
        ? []
        : [
            time(
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
    time('drift', 'read the window', service.readWindow.wall, base, scan),
    ...service.methods.map((m) =>
      time('drift', `drift route end to end, ${m.method}`, m.endToEnd.wall, base, scan),
    ),
  ];
  // Offline runs come per file format, each after its own baseline (a plain parse of the same files).
  let baseline: { label: string; seconds: Timing } | undefined;
  for (const run of report.offline?.runs ?? []) {
    if (run.label.startsWith('baseline')) baseline = run;
    else if (baseline)
      figures.push(
        time(
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

/** Each benchmark `bench` runs without a name, its modest default options, and how to read it. */
export const ALL_BENCHES: readonly { name: string; args: string[]; parse: Parser }[] = [
  { name: 'ingest', args: ['--events', '50000', '--rate', '2000', '--seconds', '5'], parse: ingest },
  { name: 'metrics', args: ['--rows', '500000', '--warm', '3'], parse: metrics },
  { name: 'drift', args: ['--rows', '50000', '--features', '10'], parse: drift },
  { name: 'shadow', args: ['--rows', '50000'], parse: shadow },
];

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
