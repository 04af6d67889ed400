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
  /** The route's first query with the bucket cache empty, milliseconds. */
  cold_ms: number;
  /** The following runs of the same query (buckets read from the cache), milliseconds. */
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
  /** The read-time sweep of the labels just loaded (the first read after a bulk load pays it). */
  sweep?: Timing;
  /** The route without the bucket cache (every bucket computed), interleaved with the cached runs. */
  uncached?: { cold: Timing; warm: Timing[] };
  /** A read after one late label arrived: the cache recomputes that label's bucket only. */
  late_label?: Timing & { computed_buckets: number };
}

/** Wall and CPU milliseconds of one run. */
export interface Timing {
  ms: number;
  cpu_ms: number;
}

export interface MetricsBenchReport {
  rows: number;
  labeled_share: number;
  phases: MetricsBenchPhase[];
  /** Peak resident set size of this process over the whole run, bytes (the embedded engine included). */
  peak_rss_bytes: number;
  /** 1, 5 and 15 minute load averages at the start and at the end (other work on the machine). */
  load_average?: { start: number[]; end: number[] };
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
      ...report.phases.flatMap(cacheLines),
      ...(report.load_average
        ? [
            `load average: start ${report.load_average.start.join(' ')}, end ${report.load_average.end.join(' ')}`,
          ]
        : []),
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

const timing = (t: Timing) => `${seconds(t.ms)} wall, ${seconds(t.cpu_ms)} CPU`;

/** The cache's figures beside the uncached route's, when measured. */
function cacheLines(p: MetricsBenchPhase): string[] {
  const lines: string[] = [];
  if (p.sweep) lines.push(`${p.phase}: sweep of the loaded labels ${timing(p.sweep)}`);
  if (p.uncached)
    lines.push(
      `${p.phase}: uncached route cold ${timing(p.uncached.cold)}; warm ${p.uncached.warm.map(timing).join('; ') || '-'}`,
    );
  if (p.late_label)
    lines.push(
      `${p.phase}: after one late label ${timing(p.late_label)} (${p.late_label.computed_buckets} bucket(s) recomputed)`,
    );
  return lines;
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
