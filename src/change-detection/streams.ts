/**
 * Generated loss streams with a known change point, and the figures a detector is judged by
 * (detection delay, false alarms, misses). The generator is mulberry32, which
 * `bench/tools/river_page_hinkley.py` reimplements bit for bit, so River and this detector see
 * the very same values: a comparison of figures is a comparison of detectors, not of samples.
 */

/** How one value is drawn from a uniform number u in [0, 1). */
export type Draw = { kind: 'bernoulli'; p: number } | { kind: 'uniform'; low: number; high: number };

export interface StreamScenario {
  name: string;
  length: number;
  /** Index of the first value drawn from `after`; null for a stationary stream. */
  changeAt: number | null;
  before: Draw;
  after?: Draw | undefined;
}

/** mulberry32: a 32-bit state, uniform numbers in [0, 1) with 32 random bits. */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draw(d: Draw, u: number): number {
  return d.kind === 'bernoulli' ? (u < d.p ? 1 : 0) : d.low + (d.high - d.low) * u;
}

export function generateStream(scenario: StreamScenario, seed: number): Float64Array {
  const next = mulberry32(seed);
  const out = new Float64Array(scenario.length);
  for (let i = 0; i < scenario.length; i++) {
    const after = scenario.changeAt !== null && i >= scenario.changeAt && scenario.after !== undefined;
    out[i] = draw(after ? scenario.after! : scenario.before, next());
  }
  return out;
}

/** Figures over many runs of one scenario. */
export interface DetectionFigures {
  runs: number;
  /** Detections before the change (all of them on a stationary stream). */
  falseAlarms: number;
  /** False alarms per 1,000 values observed before the change (or in all, when stationary). */
  falseAlarmsPer1000: number;
  /** Runs with at least one false alarm. */
  runsWithFalseAlarm: number;
  /** Runs whose change was never detected (0 when stationary). */
  missed: number;
  /** First detection at or after the change, minus the change index: mean and median over detected runs. */
  meanDelay: number | null;
  medianDelay: number | null;
}

/** Figures of detections (per run: indices) on a scenario. */
export function detectionFigures(
  scenario: StreamScenario,
  detections: readonly number[][],
): DetectionFigures {
  const change = scenario.changeAt ?? scenario.length;
  let falseAlarms = 0;
  let runsWithFalseAlarm = 0;
  let missed = 0;
  const delays: number[] = [];
  for (const run of detections) {
    const early = run.filter((i) => i < change).length;
    falseAlarms += early;
    if (early > 0) runsWithFalseAlarm += 1;
    if (scenario.changeAt === null) continue;
    const first = run.find((i) => i >= change);
    if (first === undefined) missed += 1;
    else delays.push(first - change);
  }
  delays.sort((a, b) => a - b);
  const mid = delays.length >> 1;
  return {
    runs: detections.length,
    falseAlarms,
    falseAlarmsPer1000: detections.length === 0 ? 0 : (falseAlarms * 1000) / (change * detections.length),
    runsWithFalseAlarm,
    missed,
    meanDelay: delays.length === 0 ? null : delays.reduce((s, d) => s + d, 0) / delays.length,
    medianDelay:
      delays.length === 0
        ? null
        : delays.length % 2 === 1
          ? delays[mid]!
          : (delays[mid - 1]! + delays[mid]!) / 2,
  };
}

/** The scenarios the README's figures and the River comparison use. */
export const SCENARIOS: readonly StreamScenario[] = [
  {
    name: 'stationary error rate 0.1',
    length: 10_000,
    changeAt: null,
    before: { kind: 'bernoulli', p: 0.1 },
  },
  {
    name: 'stationary error rate 0.3',
    length: 10_000,
    changeAt: null,
    before: { kind: 'bernoulli', p: 0.3 },
  },
  {
    name: 'stationary absolute error U(0, 2)',
    length: 10_000,
    changeAt: null,
    before: { kind: 'uniform', low: 0, high: 2 },
  },
  {
    name: 'error rate 0.1 -> 0.2',
    length: 10_000,
    changeAt: 5_000,
    before: { kind: 'bernoulli', p: 0.1 },
    after: { kind: 'bernoulli', p: 0.2 },
  },
  {
    name: 'error rate 0.1 -> 0.3',
    length: 10_000,
    changeAt: 5_000,
    before: { kind: 'bernoulli', p: 0.1 },
    after: { kind: 'bernoulli', p: 0.3 },
  },
  {
    name: 'error rate 0.3 -> 0.1 (better)',
    length: 10_000,
    changeAt: 5_000,
    before: { kind: 'bernoulli', p: 0.3 },
    after: { kind: 'bernoulli', p: 0.1 },
  },
  {
    name: 'absolute error U(0, 2) -> U(0.5, 2.5)',
    length: 10_000,
    changeAt: 5_000,
    before: { kind: 'uniform', low: 0, high: 2 },
    after: { kind: 'uniform', low: 0.5, high: 2.5 },
  },
];

/** Seeds of the runs of each scenario: 1..runs. */
export function seeds(runs: number): number[] {
  return Array.from({ length: runs }, (_, i) => i + 1);
}
