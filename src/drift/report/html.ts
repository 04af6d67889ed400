/**
 * The drift report as one self-contained HTML file: ECharts (node_modules/echarts, Apache-2.0)
 * inlined, the data as JSON in the page, a Content-Security-Policy that forbids any fetch, so
 * it opens offline and from an e-mail attachment alike.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CLIENT_SCRIPT } from './client-script.js';
import { escapeHtml } from './escape.js';
import { reportModel, type ReportInput } from './model.js';
import { renderPerformanceSection } from './performance.js';
import { QUALITY_STYLE, renderQualitySection } from './quality.js';

let echartsSource: string | undefined;

/** Read once per process: 1.1 MB. */
function echarts(): string {
  echartsSource ??= readFileSync(
    createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'),
    'utf8',
  );
  return echartsSource;
}

export { escapeHtml };

/** JSON safe inside a <script> element: no `</script>`, `<!--` or line separators end it early. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('>', '\\u003e')
    .replaceAll('&', '\\u0026')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

// Inline scripts only; no connection, font or frame of any kind.
const CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { padding: 16px 24px; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 2px 0; color: #555; }
#summary { font-weight: 600; color: #222; }
main { padding: 16px 24px; }
#overview { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin-bottom: 16px; }
section.column { background: #fff; border: 1px solid #ddd; border-left: 6px solid #91cc75; border-radius: 6px; margin-bottom: 16px; padding: 8px 16px; }
section.column.drifted { border-left-color: #ee6666; }
section.column h2 { font-size: 16px; margin: 4px 0; display: flex; gap: 10px; align-items: baseline; }
.role { color: #777; font-weight: normal; font-size: 13px; }
.badge { font-size: 11px; padding: 2px 6px; border-radius: 3px; color: #fff; }
.badge.yes { background: #d9534f; } .badge.no { background: #5cb85c; }
.stat { margin: 0 0 4px; color: #444; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
.charts .chart { flex: 1 1 480px; min-width: 360px; }
section.performance { background: #fff; border: 1px solid #ddd; border-radius: 6px; margin-bottom: 16px; padding: 8px 16px; }
section.performance table { border-collapse: collapse; }
section.performance th, section.performance td { padding: 4px 10px; border-bottom: 1px solid #eee; text-align: right; }
section.performance td.alert b { color: #d9534f; }
.band, .realized { color: #777; font-size: 12px; }
`;

/** The HTML page of a drift report. */
export function renderDriftReportHtml(input: ReportInput): string {
  const model = reportModel(input);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(model.title)}</title>
<style>${STYLE}${input.quality ? QUALITY_STYLE : ''}</style>
</head>
<body>
<header>
<h1>${escapeHtml(model.title)}</h1>
<p>${escapeHtml(model.subtitle)}</p>
<p id="summary"></p>
<p>Generated ${escapeHtml(model.generatedAt)} by modelwatch. Statistics and thresholds as in SPEC 5: ks D, psi, wasserstein (normed), jensenshannon, chi2; a column drifts when its statistic reaches the threshold (ks and chi2: p-value under it).</p>
</header>
<main>
<div id="overview"></div>
${model.performance ? renderPerformanceSection(model.performance) : ''}
${input.quality ? renderQualitySection(input.quality) : ''}
<div id="columns"></div>
</main>
<script type="application/json" id="report-data">${scriptJson(model)}</script>
<script>${echarts().replaceAll('</script', '<\\/script')}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
