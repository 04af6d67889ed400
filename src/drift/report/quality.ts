/**
 * The data-quality section of the HTML drift report (issue 15): per window a table of every
 * column's checks (quality/README.md) with the policy's thresholds, flagged cells in red. Static
 * HTML, no script: column names and unseen values are user input and are escaped here.
 */
import type { Bucket } from '../../platform/time/index.js';
import type { QualityBucket, QualityCheck } from '../quality/types.js';
import { escapeHtml } from './escape.js';

/** The `quality` policy's thresholds the flags were set against. */
export interface ReportQualityThresholds {
  missing_rate: number;
  wrong_type_share: number;
  unseen_share: number;
  out_of_range_share: number;
  new_columns: boolean;
}

export interface ReportQuality {
  thresholds: ReportQualityThresholds;
  /** The quality route's buckets over the report's range and bucket. */
  buckets: QualityBucket[];
}

/** What the report route asks for: the report's own model, resolved version and range. */
export type ReportQualityProvider = (request: {
  modelId: string;
  version: string;
  from: number;
  to: number;
  window: Bucket | undefined;
}) => Promise<ReportQuality>;

const pct = (v: number | null): string =>
  v === null ? '–' : `${(Math.round(v * 10_000) / 100).toString()}%`;

function cell(check: QualityCheck | undefined, flags: readonly QualityCheck[], text: string): string {
  const flagged = check !== undefined && flags.includes(check);
  return `<td${check ? ` data-check="${check}"` : ''}${flagged ? ' class="flag"' : ''}>${text}</td>`;
}

function columnRow(c: QualityBucket['columns'][number]): string {
  const unseen =
    c.unseen_share === null
      ? '–'
      : pct(c.unseen_share) +
        (c.top_unseen.length > 0
          ? ` <span class="top">${c.top_unseen.map((u) => `${escapeHtml(u.value)} (${u.count})`).join(', ')}</span>`
          : '');
  const status =
    c.status === 'new' ? 'new column' : c.status === 'gone' ? 'column missing' : escapeHtml(c.kind ?? '');
  return [
    `<tr data-column="${escapeHtml(c.column)}"${c.flagged ? ' class="flagged"' : ''}>`,
    `<td class="name">${escapeHtml(c.column)}</td>`,
    cell(
      c.status === 'new' ? 'new_column' : c.status === 'gone' ? 'column_missing' : undefined,
      c.flags,
      status,
    ),
    cell('missing', c.flags, pct(c.missing_rate)),
    cell('wrong_type', c.flags, pct(c.wrong_type_share)),
    cell('unseen', c.flags, unseen),
    cell('out_of_range', c.flags, pct(c.out_of_range_share)),
    `<td class="flags">${c.flags.join(', ')}</td>`,
    '</tr>',
  ].join('');
}

function windowTable(b: QualityBucket): string {
  const flagged = b.columns.filter((c) => c.flagged).map((c) => c.column);
  return `<div class="quality-window" data-start="${escapeHtml(b.start)}" data-flagged="${flagged.length}">
<h3>${escapeHtml(b.start.slice(0, 16).replace('T', ' '))} to ${escapeHtml(b.end.slice(0, 16).replace('T', ' '))}: ${b.count} predictions, ${
    flagged.length === 0
      ? 'no quality flags'
      : `${flagged.length} flagged: ${flagged
          .slice(0, 20)
          .map(escapeHtml)
          .join(', ')}${flagged.length > 20 ? ', …' : ''}`
  }</h3>
<table>
<thead><tr><th>column</th><th>kind</th><th>missing</th><th>wrong type</th><th>unseen (top)</th><th>out of range</th><th>flags</th></tr></thead>
<tbody>
${b.columns.map(columnRow).join('\n')}
</tbody>
</table>
</div>`;
}

/** The section as static HTML: one table per window, latest first. */
export function renderQualitySection(q: ReportQuality): string {
  const t = q.thresholds;
  const flaggedWindows = q.buckets.filter((b) => b.flagged_columns > 0).length;
  return `<section id="data-quality" class="quality" data-flagged-windows="${flaggedWindows}">
<h2>Data quality</h2>
<p class="stat">${flaggedWindows} of ${q.buckets.length} windows with a flagged column. Flagged (red) when the missing rate exceeds the reference's by more than ${pct(t.missing_rate)}, values of the wrong type are over ${pct(t.wrong_type_share)}, unseen categories over ${pct(t.unseen_share)} of a categorical column's values, values outside the reference's [min, max] over ${pct(t.out_of_range_share)} of a numerical column's${t.new_columns ? ', a column the reference does not have' : ''}, and a reference column without any value (the model's <code>quality</code> policy).</p>
${[...q.buckets].reverse().map(windowTable).join('\n')}
</section>`;
}

/** Styles of the section, added to the page's. */
export const QUALITY_STYLE = `
section.quality { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin-bottom: 16px; padding: 8px 16px; }
section.quality h3 { font-size: 14px; margin: 12px 0 4px; }
section.quality table { border-collapse: collapse; }
section.quality th, section.quality td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: right; }
section.quality td.name, section.quality td.flags { text-align: left; }
section.quality tr.flagged td.name { color: #d9534f; font-weight: 600; }
section.quality td.flag { color: #fff; background: #d9534f; }
section.quality .top { color: #777; font-size: 12px; }
`;
