import { describe, expect, it } from 'vitest';
import {
  formatMetricsBenchTable,
  median,
  type MetricsBenchReport,
} from '../../../src/metrics/bench-report.js';

describe('bench metrics report', () => {
  it('takes the median of the warm runs, and null without any', () => {
    expect(median([])).toBeNull();
    expect(median([900, 100, 500])).toBe(500);
    expect(median([400, 100, 300, 200])).toBe(250);
  });

  it('puts each timing beside its same-run baseline, with the peak RSS', () => {
    const report: MetricsBenchReport = {
      rows: 1_000_000,
      labeled_share: 0.3,
      peak_rss_bytes: 300 * 2 ** 20,
      phases: [
        {
          phase: 'as inserted',
          baseline_ms: 400,
          cold_ms: 2000,
          warm_ms: [1000, 1200, 800],
          buckets: 744,
          predictions: 1_000_000,
          labeled: 300_000,
        },
        {
          phase: 'merged',
          baseline_ms: 500,
          cold_ms: 1500,
          warm_ms: [],
          buckets: 744,
          predictions: 1_000_000,
          labeled: 300_000,
        },
      ],
    };
    const lines = formatMetricsBenchTable(report).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^phase\s+baseline\s+cold\s+cold\/base\s+warm \(median\)\s+warm\/base$/);
    expect(lines[1]).toMatch(/^as inserted\s+0\.40 s\s+2\.00 s\s+5\.0x\s+1\.00 s\s+2\.5x$/);
    expect(lines[2]).toMatch(/^merged\s+0\.50 s\s+1\.50 s\s+3\.0x\s+-\s+-$/);
    expect(lines[3]).toBe('peak RSS 300 MiB');
  });

  it('prints the uncached route, the sweep and the late label beside the cached figures, and the load', () => {
    const t = (ms: number, cpu_ms: number) => ({ ms, cpu_ms });
    const report: MetricsBenchReport = {
      rows: 10_000_000,
      labeled_share: 0.3,
      peak_rss_bytes: 2 ** 30,
      load_average: { start: [1.5, 2, 3], end: [4, 5, 6] },
      phases: [
        {
          phase: 'as stored',
          baseline_ms: 500,
          cold_ms: 1800,
          warm_ms: [40],
          buckets: 744,
          predictions: 10_000_000,
          labeled: 3_000_000,
          cpu: { baseline_ms: 400, cold_ms: 1600, warm_ms: [30] },
          sweep: t(10, 9),
          uncached: { cold: t(1900, 1700), warm: [t(1500, 1400)] },
          late_label: { ...t(300, 200), computed_buckets: 1 },
        },
      ],
    };
    const text = formatMetricsBenchTable(report);
    expect(text).toContain('as stored: sweep of the loaded labels 0.01 s wall, 0.01 s CPU');
    expect(text).toContain(
      'as stored: uncached route cold 1.90 s wall, 1.70 s CPU; warm 1.50 s wall, 1.40 s CPU',
    );
    expect(text).toContain(
      'as stored: after one late label 0.30 s wall, 0.20 s CPU (1 bucket(s) recomputed)',
    );
    expect(text).toContain('load average: start 1.5 2 3, end 4 5 6');
  });
});
