/** The human form of an offline report: drifted columns marked, most severe first. */
import { usesPValue } from '../statistics/index.js';
import type { ColumnDrift } from '../engine/types.js';
import type { OfflineDriftReport } from './offline.js';

/** How far past its threshold a column is: ≥ 1 means drifted; -1 when there is no statistic. */
export function severity(c: ColumnDrift): number {
  if (usesPValue(c.method)) {
    if (c.p_value === null) return -1;
    if (c.p_value === 0) return Infinity;
    return Math.log10(c.p_value) / Math.log10(c.threshold);
  }
  return c.statistic === null ? -1 : c.statistic / c.threshold;
}

function num(v: number | null): string {
  if (v === null) return '-';
  if (v === 0) return '0';
  if (Math.abs(v) < 1e-4 || Math.abs(v) >= 1e6) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

export function formatTable(report: OfflineDriftReport): string {
  const lines = [
    `reference ${report.reference.file} (${report.reference.rows} rows), current ${report.current.file} (${report.current.rows} rows)`,
  ];
  for (const b of report.buckets) {
    const features = b.columns.filter(
      (c) => c.role === 'feature' && (c.statistic !== null || c.p_value !== null),
    );
    const drifted = features.filter((c) => c.drifted).length;
    lines.push('');
    lines.push(
      `${b.start === null ? 'all rows' : `${b.start} .. ${b.end ?? ''}`}  rows ${b.count}  drifted features ${drifted}/${features.length} (${Math.round(b.drift_share * 100)}%)  dataset drift: ${b.dataset_drift ? 'YES' : 'no'}`,
    );
    const rows = [...b.columns]
      .sort((x, y) => severity(y) - severity(x) || x.column.localeCompare(y.column))
      .map((c) => [
        c.drifted ? 'DRIFT' : '',
        c.role === 'feature' ? c.column : `${c.column} (${c.role})`,
        c.kind,
        c.method,
        num(c.statistic === null && c.p_value === 0 ? Infinity : c.statistic),
        num(c.p_value),
        num(c.threshold),
        String(c.count),
      ]);
    const header = ['', 'column', 'kind', 'method', 'statistic', 'p-value', 'threshold', 'values'];
    // Not Math.max(...): an argument per column overflows the stack past ~100,000 columns.
    const widths = header.map((h, i) => rows.reduce((width, r) => Math.max(width, r[i]!.length), h.length));
    for (const r of [header, ...rows])
      lines.push(
        `  ${r
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
