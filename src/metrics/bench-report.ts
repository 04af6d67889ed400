/**
 * The figures of `bench metrics` as JSON and as a table: each route timing beside the same-run
 * baseline (the serving half alone), so a loaded machine shows as a slow baseline, not as a
 * regression of the route.
 */

/** One measured state of the tables (as inserted, or after OPTIMIZE FINAL). */
export interface MetricsBenchPhase {
  phase: string;
  /** Serving metrics alone (predictions FINAL, no labels, no join), milliseconds. */
  baseline_ms: number;
  /** The route's first query after the data was written, milliseconds. */
  cold_ms: number;
  /** The following runs of the same query, milliseconds. */
  warm_ms: number[];
  buckets: number;
  predictions: number;
  labeled: number;
  /**
   * CPU time of this process (the embedded engine's threads included) for the same runs,
   * milliseconds: comparable when other work loads the machine and wall time is not.
   */
  cpu?: { baseline_ms: number; cold_ms: number; warm_ms: number[]; raw_ms?: number };
  /** The raw path (predictions joined with labels at read time) once, for comparison, milliseconds. */
  raw_ms?: number;
}

export interface MetricsBenchReport {
  rows: number;
  labeled_share: number;
  phases: MetricsBenchPhase[];
  /** Peak resident set size of this process over the whole run, bytes (the embedded engine included). */
  peak_rss_bytes: number;
}

/** Median of the warm runs, or null without any. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(2)} s`);
const ratio = (ms: number | null, baseline: number) =>
  ms === null || baseline <= 0 ? '-' : `${(ms / baseline).toFixed(1)}x`;

/** A fixed-width table: one line per phase, the route beside its same-run baseline. */
export function formatMetricsBenchTable(report: MetricsBenchReport): string {
  const header = ['phase', 'baseline', 'cold', 'cold/base', 'warm (median)', 'warm/base'];
  const lines = report.phases.map((p) => {
    const warm = median(p.warm_ms);
    return [
      p.phase,
      seconds(p.baseline_ms),
      seconds(p.cold_ms),
      ratio(p.cold_ms, p.baseline_ms),
      seconds(warm),
      ratio(warm, p.baseline_ms),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return (
    [
      row(header),
      ...lines.map(row),
      `peak RSS ${(report.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`,
      ...report.phases.flatMap(cpuLine),
    ].join('\n') + '\n'
  );
}

/** CPU seconds of a phase (and the raw path's time, when measured), one line. */
function cpuLine(p: MetricsBenchPhase): string[] {
  if (!p.cpu) return [];
  const raw =
    p.raw_ms === undefined
      ? ''
      : `; raw path ${seconds(p.raw_ms)} wall${p.cpu.raw_ms === undefined ? '' : `, ${seconds(p.cpu.raw_ms)} CPU`}`;
  return [
    `${p.phase} CPU: baseline ${seconds(p.cpu.baseline_ms)}, cold ${seconds(p.cpu.cold_ms)}, warm ${p.cpu.warm_ms.map(seconds).join(', ') || '-'}${raw}`,
  ];
}

/** Samples this process's RSS every 100 ms (and on demand) and keeps the peak. */
export function rssPeak(): { peak: () => number; stop: () => void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  timer.unref();
  return {
    peak: () => (peak = Math.max(peak, process.memoryUsage().rss)),
    stop: () => clearInterval(timer),
  };
}
