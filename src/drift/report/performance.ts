/**
 * The estimated-performance section of the HTML drift report: another capability's estimate of
 * the model's quality per bucket (CBPE, src/performance-estimation), its reference band, and the
 * realized figures where labels exist. Drift defines only the shape and the rendering; the
 * estimate is injected (DriftCapability.setReportPerformance), since performance estimation
 * depends on drift and not the other way round.
 */
import type { Bucket } from '../../platform/time/index.js';
import { escapeHtml } from './escape.js';

/** One bucket's figures by metric name (null: no value, e.g. one class in the bucket). */
export interface ReportPerformanceBucket {
  start: string;
  end: string;
  /** Predictions the estimate is over. */
  count: number;
  estimated: Record<string, number | null>;
  /** [lower, upper] of each metric's reference band; null: no reference value. */
  band: Record<string, [number, number] | null>;
  /** Metrics whose estimate is outside their band. */
  alerts: string[];
  /** The metrics route's figures where the bucket has labels, else null. */
  realized: Record<string, number | null> | null;
}

export interface ReportPerformance {
  /** e.g. "cbpe". */
  method: string;
  metrics: string[];
  calibrated: boolean;
  reference: { from: string; to: string };
  buckets: ReportPerformanceBucket[];
}

/** What the drift report route asks for: the report's own model, resolved version, range and bucket. */
export interface ReportPerformanceRequest {
  modelId: string;
  version: string;
  from: number;
  to: number;
  bucket: Bucket;
}

/** Resolves to null when the version has no estimate (not a binary classifier, no range reference). */
export type ReportPerformanceProvider = (
  request: ReportPerformanceRequest,
) => Promise<ReportPerformance | null>;

function fmt(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : value.toFixed(4);
}

function cell(bucket: ReportPerformanceBucket, metric: string): string {
  const band = bucket.band[metric];
  const alert = bucket.alerts.includes(metric);
  const realized = bucket.realized ? bucket.realized[metric] : undefined;
  return [
    `<td data-metric="${escapeHtml(metric)}"${alert ? ' class="alert"' : ''}>`,
    `<b>${fmt(bucket.estimated[metric])}</b>`,
    band ? ` <span class="band">[${fmt(band[0])}, ${fmt(band[1])}]</span>` : '',
    realized === undefined ? '' : ` <span class="realized">realized ${fmt(realized)}</span>`,
    '</td>',
  ].join('');
}

/** The section as static HTML (no script): a row per bucket, a cell per metric. */
export function renderPerformanceSection(p: ReportPerformance): string {
  const head = p.metrics.map((m) => `<th>${escapeHtml(m)}</th>`).join('');
  const rows = p.buckets.map(
    (b) =>
      `<tr data-start="${escapeHtml(b.start)}"><td>${escapeHtml(b.start.slice(0, 16).replace('T', ' '))}</td><td>${b.count}</td>${p.metrics.map((m) => cell(b, m)).join('')}</tr>`,
  );
  return `<section id="estimated-performance" class="performance">
<h2>Estimated performance (${escapeHtml(p.method.toUpperCase())})</h2>
<p class="stat">Estimated from the scores alone, before labels arrive${p.calibrated ? ' (scores calibrated on the reference)' : ''}. In brackets the reference band (mean ± 3 standard deviations of the realized reference buckets, ${escapeHtml(p.reference.from)} to ${escapeHtml(p.reference.to)}); red: outside it. Realized where the bucket has labels.</p>
<table>
<thead><tr><th>bucket</th><th>predictions</th>${head}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</section>`;
}
