/**
 * A dashboard panel's data as Prometheus returned it, drawn as a self-contained page (ECharts
 * inlined) for the README's screenshot: Grafana cannot run here, the data is what it would plot.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeHtml, scriptJson } from '../../src/drift/report/index.js';
import type { PromSeries } from './prometheus.js';

export function panelChartHtml(
  title: string,
  expr: string,
  series: { legend: string; data: PromSeries }[],
): string {
  const echarts = readFileSync(createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js'), 'utf8');
  const data = series.map((s) => ({
    name: s.legend,
    points: s.data.values.map(([t, v]) => [t * 1000, Number(v)]),
  }));
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:13px system-ui,sans-serif;margin:12px;background:#181b1f;color:#ccccdc}#c{height:360px}code{color:#8ab8ff}</style></head>
<body><div><b>${escapeHtml(title)}</b> <span>(modelwatch / models, from the Prometheus test)</span></div><div><code>${escapeHtml(expr)}</code></div><div id="c"></div>
<script type="application/json" id="d">${scriptJson(data)}</script>
<script>${echarts.replaceAll('</script', '<\\/script')}</script>
<script>
var d = JSON.parse(document.getElementById('d').textContent);
var c = echarts.init(document.getElementById('c'), 'dark', { renderer: 'svg' });
c.setOption({ animation: false, backgroundColor: '#181b1f', legend: { bottom: 0 }, tooltip: { trigger: 'axis' },
  grid: { left: 60, right: 20, top: 20, bottom: 50 },
  xAxis: { type: 'time' }, yAxis: { type: 'value', name: 'predictions/s' },
  series: d.map(function (s) { return { name: s.name, type: 'line', showSymbol: false, areaStyle: { opacity: 0.1 }, data: s.points }; }) });
console.info('panel rendered: ' + d.length + ' series');
</script></body></html>`;
}
