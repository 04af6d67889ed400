/**
 * The report page's own script (plain browser JavaScript, run after the inlined ECharts). It
 * builds every element with textContent, never innerHTML: column names are user input.
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('report-data').textContent);
  var REF = '#5470c6', CUR = '#ee6666', LINE = '#91cc75';
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (!isFinite(v)) return '∞';
    var a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Math.round(v * 10000) / 10000);
  }
  function short(v) { return Math.abs(v) >= 1e5 ? v.toExponential(1) : String(Number(v.toPrecision(3))); }
  function pct(v) { return Math.round(v * 1000) / 10 + '%'; }
  function label(b) { return b.start === null ? 'all rows' : b.start.slice(0, 16).replace('T', ' '); }
  var charts = [];
  function chart(parent, cls, column, option, height) {
    var div = el('div', 'chart ' + cls);
    div.setAttribute('data-column', column);
    div.style.height = (height || 260) + 'px';
    parent.appendChild(div);
    var c = echarts.init(div, null, { renderer: 'svg' });
    c.setOption(Object.assign({ animation: false, grid: { left: 56, right: 24, top: 36, bottom: 56 } }, option));
    charts.push(c);
    return c;
  }
  function distributionOption(d) {
    var names = d.kind === 'numerical'
      // Halves first: the sum of two edges near the largest double is ∞.
      ? d.reference.map(function (_, i) { return short(d.edges[i] / 2 + d.edges[i + 1] / 2); })
      : d.categories;
    return {
      legend: { top: 0, data: ['reference (' + d.referenceCount + ')', 'current (' + d.currentCount + ')'] },
      tooltip: { trigger: 'axis', valueFormatter: pct },
      xAxis: { type: 'category', data: names, axisLabel: { rotate: 30, hideOverlap: true }, name: d.kind === 'numerical' ? 'bin centre' : '' },
      yAxis: { type: 'value', name: 'share', axisLabel: { formatter: pct } },
      series: [
        { name: 'reference (' + d.referenceCount + ')', type: 'bar', data: d.reference, itemStyle: { color: REF, opacity: 0.55 }, barGap: '-100%', barCategoryGap: d.kind === 'numerical' ? '2%' : '30%' },
        { name: 'current (' + d.currentCount + ')', type: 'bar', data: d.current, itemStyle: { color: CUR, opacity: 0.55 } }
      ]
    };
  }
  function seriesOption(c) {
    var byP = c.decidesOn === 'p_value';
    var threshold = { silent: true, symbol: 'none', lineStyle: { color: '#333', type: 'dashed' }, label: { position: 'insideEndTop', formatter: 'threshold ' + fmt(c.threshold) }, data: [{ yAxis: c.threshold }] };
    return {
      tooltip: { trigger: 'axis' },
      xAxis: { type: 'category', data: c.series.map(label), axisLabel: { rotate: 30, hideOverlap: true } },
      yAxis: byP ? { type: 'log', name: c.method + ' p-value' } : { type: 'value', name: c.method },
      series: [{
        name: byP ? c.method + ' p-value' : c.method, type: 'line', showSymbol: true, symbolSize: 7, color: LINE,
        // A p-value of 0 has no place on a log axis: drawn at the smallest double instead.
        data: c.series.map(function (s) {
          var v = byP ? (s.p_value === null ? null : Math.max(s.p_value, 1e-300)) : s.statistic;
          return { value: v, itemStyle: { color: s.drifted ? CUR : LINE } };
        }),
        markLine: threshold
      }]
    };
  }
  var root = document.getElementById('columns');
  var drifted = model.columns.filter(function (c) { return c.drifted; }).length;
  var last = model.buckets[model.buckets.length - 1];
  document.getElementById('summary').textContent =
    model.columns.length + ' columns, ' + drifted + ' drifted' +
    (last ? '; drifted feature share ' + pct(last.drift_share) + ' (dataset drift at ' + pct(model.datasetDriftShare) + '): ' + (last.dataset_drift ? 'DATASET DRIFT' : 'no dataset drift') : '') +
    (model.buckets.length > 1 ? ' in the latest of ' + model.buckets.length + ' buckets' : '');
  if (model.buckets.length > 1) {
    chart(document.getElementById('overview'), 'overview', '', {
      title: { text: 'Share of drifted features per bucket', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis', valueFormatter: pct },
      xAxis: { type: 'category', data: model.buckets.map(label), axisLabel: { rotate: 30, hideOverlap: true } },
      yAxis: { type: 'value', max: 1, axisLabel: { formatter: pct } },
      series: [{ type: 'bar', data: model.buckets.map(function (b) { return { value: b.drift_share, itemStyle: { color: b.dataset_drift ? CUR : LINE } }; }),
        markLine: { silent: true, symbol: 'none', lineStyle: { type: 'dashed', color: '#333' }, label: { position: 'insideEndTop', formatter: 'dataset drift ' + pct(model.datasetDriftShare) }, data: [{ yAxis: model.datasetDriftShare }] } }]
    }, 220);
  }
  model.columns.forEach(function (c) {
    var card = el('section', 'column' + (c.drifted ? ' drifted' : ''));
    card.setAttribute('data-column', c.column);
    var head = el('h2');
    head.appendChild(el('span', 'badge ' + (c.drifted ? 'yes' : 'no'), c.drifted ? 'DRIFT' : 'no drift'));
    head.appendChild(el('span', 'name', c.column));
    head.appendChild(el('span', 'role', c.role + ', ' + c.kind));
    card.appendChild(head);
    card.appendChild(el('p', 'stat',
      (c.decidesOn === 'p_value'
        ? c.method + ' statistic ' + fmt(c.statistic) + ', p-value ' + fmt(c.p_value) + (c.drifted ? ' under' : ' not under') + ' threshold ' + fmt(c.threshold)
        : c.method + ' ' + fmt(c.statistic) + (c.drifted ? ' at or over' : ' under') + ' threshold ' + fmt(c.threshold)) +
      (c.buckets > 1 ? '; drifted in ' + c.driftedBuckets + ' of ' + c.buckets + ' buckets' : '')));
    var row = el('div', 'charts');
    card.appendChild(row);
    if (c.distribution) chart(row, 'distribution', c.column, distributionOption(c.distribution));
    if (c.series.length > 1) chart(row, 'over-time', c.column, seriesOption(c));
    root.appendChild(card);
  });
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute('data-rendered', String(charts.length));
  console.info('modelwatch drift report: ' + charts.length + ' charts for ' + model.columns.length + ' columns');
})();
`;
