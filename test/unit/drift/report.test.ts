import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { planColumns } from '../../../src/drift/engine/evaluate.js';
import { referenceFromRaw, windowFromRaw } from '../../../src/drift/engine/in-memory.js';
import { driftSettings } from '../../../src/drift/engine/settings.js';
import type { ColumnDrift, RawColumn } from '../../../src/drift/engine/types.js';
import { CLIENT_SCRIPT } from '../../../src/drift/report/client-script.js';
import {
  columnDistributions,
  renderDriftReportHtml,
  renderPerformanceSection,
  reportModel,
  scriptJson,
  type ReportBucket,
  type ReportPerformance,
} from '../../../src/drift/report/index.js';

const raw = (column: string, numbers: number[], texts: [string, number][] = []): RawColumn => ({
  role: 'feature',
  column,
  numbers: Float64Array.from(numbers).sort(),
  texts: new Map(texts),
});

function plansFor(columns: RawColumn[], rows: number) {
  const reference = referenceFromRaw(
    { modelId: 'm', version: '1', revision: 1, source: 'rows', from: null, to: null, rows, setAt: 0 },
    columns,
  );
  return planColumns(reference, driftSettings());
}

const column = (name: string, over: Partial<ColumnDrift> = {}): ColumnDrift => ({
  column: name,
  role: 'feature',
  kind: 'numerical',
  method: 'wasserstein',
  statistic: 0.05,
  p_value: null,
  threshold: 0.1,
  drifted: false,
  count: 10,
  ...over,
});

const bucket = (start: string, columns: ColumnDrift[]): ReportBucket => ({
  start,
  end: null,
  count: 10,
  drift_share: columns.filter((c) => c.drifted).length / columns.length,
  dataset_drift: false,
  columns,
});

describe('report distributions', () => {
  const values = Array.from({ length: 100 }, (_, i) => i);
  const plans = plansFor(
    [
      raw('x', values),
      raw(
        'city',
        [],
        [
          ['a', 60],
          ['b', 40],
        ],
      ),
    ],
    100,
  );

  it('bins both sides of a numerical column on one set of edges, shares summing to 1', () => {
    const current = [
      raw(
        'x',
        values.map((v) => v + 50),
      ),
      raw(
        'city',
        [],
        [
          ['b', 10],
          ['c', 30],
        ],
      ),
    ];
    const halves = [0, 50].map((from) =>
      windowFromRaw(
        plans,
        current.map((c) => ({ ...c, numbers: c.numbers.slice(from, from + 50) })),
        {
          start: 0,
          end: 0,
          count: 50,
        },
      ),
    );
    const byName = new Map(
      columnDistributions(plans, halves, { bins: 10, tail: 0 }).map((d) => [d.column, d]),
    );
    const [x, city] = [byName.get('x'), byName.get('city')];
    expect(x).toMatchObject({ kind: 'numerical', referenceCount: 100, currentCount: 100 });
    if (x?.kind !== 'numerical') throw new Error('numerical expected');
    expect(x.edges).toHaveLength(11);
    expect(x.edges[0]).toBe(0);
    expect(x.edges[10]).toBe(149);
    expect(x.reference.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(x.current.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    // The reference (0–99) fills the lower bins, the current (50–149) the upper ones.
    expect(x.reference[9]).toBe(0);
    expect(x.current[0]).toBe(0);
    expect(city).toMatchObject({ kind: 'categorical', categories: ['c', 'b', 'a'], otherCategories: 0 });
    if (city?.kind !== 'categorical') throw new Error('categorical expected');
    expect(city.reference).toEqual([0, 0.4, 0.6]);
    expect(city.current).toEqual([0.75, 0.25, 0]);
  });

  it('folds categories beyond the limit into (other), and handles an empty current side', () => {
    const many = plansFor(
      [
        raw(
          'k',
          [],
          Array.from({ length: 30 }, (_, i): [string, number] => [`c${i}`, 1]),
        ),
      ],
      30,
    );
    const [k] = columnDistributions(many, [], { maxCategories: 5 });
    if (k?.kind !== 'categorical') throw new Error('categorical expected');
    expect(k.categories).toEqual(['c0', 'c1', 'c10', 'c11', '(other)']);
    expect(k.otherCategories).toBe(26);
    expect(k.reference.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(k.current).toEqual([0, 0, 0, 0, 0]);
    const empty = columnDistributions(plans, []);
    expect(empty.map((d) => d.currentCount)).toEqual([0, 0]);
  });

  it('bins a numerical column over 200,000 windows (Math.min(...) of one argument per window overflowed the stack)', () => {
    const one = (v: number) => ({ sorted: Float64Array.of(v) });
    const xPlan = plans.find((p) => p.ref.column === 'x')!;
    const windows = Array.from({ length: 200_000 }, (_, i) => ({
      start: i,
      end: i + 1,
      count: 1,
      columns: new Map([[xPlan.key, one(50 + (i % 100))]]),
    }));
    const [x] = columnDistributions([xPlan], windows, { bins: 10, tail: 0 });
    if (x?.kind !== 'numerical') throw new Error('numerical expected');
    expect([x.edges[0], x.edges[10], x.currentCount]).toEqual([0, 149, 200_000]);
  });

  it('bins values spanning ±1.7e308 (hi - lo was ∞: every edge NaN or ∞, every value counted nowhere)', () => {
    const huge = (k: number) => (k % 2 === 0 ? -1 : 1) * 1.7e308 * ((k % 50) / 50);
    const wide = plansFor(
      [
        raw(
          'w',
          Array.from({ length: 100 }, (_, k) => huge(k)),
        ),
      ],
      100,
    );
    const current = windowFromRaw(
      wide,
      [
        raw(
          'w',
          Array.from({ length: 40 }, (_, k) => huge(3 * k + 1)),
        ),
      ],
      {
        start: 0,
        end: 0,
        count: 40,
      },
    );
    const [w] = columnDistributions(wide, [current], { bins: 10, tail: 0 });
    if (w?.kind !== 'numerical') throw new Error('numerical expected');
    expect(w.edges.every(Number.isFinite)).toBe(true);
    const ref = wide[0]!.ref.numerical!.sorted;
    expect(w.edges[0]).toBe(ref[0]);
    expect(w.edges[10]! / ref[ref.length - 1]!).toBeCloseTo(1, 12);
    expect(w.edges).toEqual([...w.edges].sort((a, b) => a - b));
    expect(w.reference.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(w.current.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    // Symmetric around 0: half of the reference in the lower five bins.
    expect(w.reference.slice(0, 5).reduce((a, b) => a + b)).toBeCloseTo(0.5, 12);
  });
});

describe('report model', () => {
  it('puts drifted columns first, then by buckets drifted and distance past the threshold', () => {
    const model = reportModel({
      title: 't',
      subtitle: 's',
      datasetDriftShare: 0.5,
      distributions: [],
      generatedAt: 0,
      buckets: [
        bucket('2026-01-01', [
          column('calm'),
          column('was', { drifted: true, statistic: 0.5 }),
          column('p', { method: 'ks', statistic: 0.3, p_value: 0.001, threshold: 0.05, drifted: true }),
          column('now', { statistic: 0.2, drifted: true }),
        ]),
        bucket('2026-01-02', [
          column('calm', { statistic: 0.09 }),
          column('was', { statistic: 0.01 }),
          column('p', { method: 'ks', statistic: 0.3, p_value: 0.0001, threshold: 0.05, drifted: true }),
          column('now', { statistic: 0.4, drifted: true }),
        ]),
      ],
    });
    expect(model.columns.map((c) => [c.column, c.drifted, c.driftedBuckets])).toEqual([
      ['p', true, 2],
      ['now', true, 2],
      ['was', false, 1],
      ['calm', false, 0],
    ]);
    expect(model.columns[0]).toMatchObject({ decidesOn: 'p_value', p_value: 0.0001 });
    expect(model.columns.find((c) => c.column === 'now')!.series.map((s) => s.statistic)).toEqual([0.2, 0.4]);
    expect(model.generatedAt).toBe('1970-01-01T00:00:00.000Z');
  });

  it('counts the buckets a column has values in (a bucket without any was counted: "drifted in 1 of 3")', () => {
    const empty = { statistic: null, p_value: null, drifted: false, count: 0 };
    const model = reportModel({
      title: 't',
      subtitle: 's',
      datasetDriftShare: 0.5,
      distributions: [],
      generatedAt: 0,
      buckets: [
        bucket('2026-01-01', [column('sparse', { statistic: 0.5, drifted: true }), column('full')]),
        bucket('2026-01-02', [column('sparse', empty), column('full')]),
        bucket('2026-01-03', [column('sparse', { statistic: 0.05 }), column('full')]),
      ],
    });
    const byName = new Map(model.columns.map((c) => [c.column, c]));
    expect(byName.get('sparse')).toMatchObject({ buckets: 2, driftedBuckets: 1 });
    expect(byName.get('full')).toMatchObject({ buckets: 3, driftedBuckets: 0 });
    // The series keeps every bucket, the empty one as a gap.
    expect(byName.get('sparse')!.series.map((s) => s.statistic)).toEqual([0.5, null, 0.05]);
  });
});

describe('report HTML', () => {
  const hostile = '</script><script>alert(1)</script><!--';
  const html = renderDriftReportHtml({
    title: `<b>${hostile}</b>`,
    subtitle: '&"\'',
    datasetDriftShare: 0.5,
    distributions: [],
    buckets: [bucket('2026-01-01', [column(hostile, { drifted: true }), column('\u2028line')])],
  });

  it('cannot be broken out of by a column name or title', () => {
    // Only the page's own three scripts, whatever the names hold.
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '<script></script>');
    expect(markup.match(/<script/g)).toHaveLength(3);
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('<title>&lt;b&gt;&lt;/script&gt;');
    expect(html).toContain('&amp;&quot;&#39;');
    const data = /id="report-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(data).not.toMatch(/[<>\u2028]/);
    expect((JSON.parse(data) as { columns: { column: string }[] }).columns.map((c) => c.column)).toEqual([
      hostile,
      '\u2028line',
    ]);
  });

  it('is one file: ECharts inlined, nothing loaded from elsewhere', () => {
    expect(html).toContain('Content-Security-Policy');
    expect(html).toMatch(/default-src 'none'/);
    expect(html.length).toBeGreaterThan(1_000_000);
    const markup = html.replace(/<script\b[^>]*>[\s\S]*?<\/script>/g, '<script></script>');
    expect(markup.match(/<(script|link|img|iframe)[^>]*\s(src|href)=[^>]*>/g)).toBeNull();
  });

  it('escapes everything JSON can hold', () => {
    expect(scriptJson({ a: '</script>&\u2029' })).toBe('{"a":"\\u003c/script\\u003e\\u0026\\u2029"}');
  });
});

/** The page's script run on a stand-in DOM and ECharts: the options of every chart it draws. */
function chartOptions(model: ReturnType<typeof reportModel>): { column: string; option: unknown }[] {
  interface Node {
    className: string;
    textContent: string;
    style: Record<string, string>;
    attributes: Map<string, string>;
    setAttribute(name: string, value: string): void;
    appendChild(child: Node): void;
  }
  const node = (text = ''): Node => ({
    className: '',
    textContent: text,
    style: {},
    attributes: new Map(),
    setAttribute(name, value) {
      this.attributes.set(name, value);
    },
    appendChild: () => undefined,
  });
  const byId = new Map([['report-data', node(JSON.stringify(model))]]);
  const document = {
    getElementById: (id: string) => byId.get(id) ?? byId.set(id, node()).get(id),
    createElement: () => node(),
    body: node(),
  };
  const charts: { column: string; option: unknown }[] = [];
  const echarts = {
    init: (div: Node) => ({
      setOption: (option: unknown) =>
        charts.push({ column: div.attributes.get('data-column') ?? '', option }),
      resize: () => undefined,
    }),
  };
  const window = { addEventListener: () => undefined };
  const console = { info: () => undefined };
  runInNewContext(CLIENT_SCRIPT, { document, echarts, window, console });
  return charts;
}

describe('report page script', () => {
  it('labels the bins of values near ±1.8e308 by finite centres (the sum of two edges was ∞)', () => {
    const values = Array.from({ length: 100 }, (_, k) => 1.7e308 * (1 - k / 1000));
    const plans = plansFor([raw('w', values)], 100);
    const model = reportModel({
      title: 't',
      subtitle: 's',
      datasetDriftShare: 0.5,
      distributions: columnDistributions(plans, [], { bins: 10, tail: 0 }),
      buckets: [bucket('2026-01-01', [column('w')])],
    });
    const [chart] = chartOptions(model);
    const labels = (chart!.option as { xAxis: { data: string[] } }).xAxis.data;
    expect(labels).toHaveLength(10);
    expect(labels.filter((l) => !/^1\.\de\+308$/.test(l))).toEqual([]);
  });
});

describe('report estimated-performance section', () => {
  const performance: ReportPerformance = {
    method: 'cbpe',
    metrics: ['roc_auc', 'f1'],
    calibrated: true,
    reference: { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' },
    buckets: [
      {
        start: '2026-03-01T00:00:00.000Z',
        end: '2026-03-01T01:00:00.000Z',
        count: 40,
        estimated: { roc_auc: 0.829076894, f1: null },
        band: { roc_auc: [0.70833, 1], f1: null },
        alerts: [],
        realized: { roc_auc: 0.704867, f1: 0.5 },
      },
      {
        start: '2026-03-01T01:00:00.000Z',
        end: '2026-03-01T02:00:00.000Z',
        count: 7,
        estimated: { roc_auc: 0.5, f1: 0.25 },
        band: { roc_auc: [0.70833, 1], f1: [0.3, 0.9] },
        alerts: ['roc_auc', 'f1'],
        realized: null,
      },
    ],
  };
  const section = renderPerformanceSection(performance);
  const row = (start: string) => new RegExp(`<tr data-start="${start}">(.*?)</tr>`).exec(section)![1]!;

  it('shows each bucket’s estimate, band and realized figure, alerts marked', () => {
    expect(section).toContain('<h2>Estimated performance (CBPE)</h2>');
    expect(row('2026-03-01T00:00:00.000Z')).toBe(
      '<td>2026-03-01 00:00</td><td>40</td>' +
        '<td data-metric="roc_auc"><b>0.8291</b> <span class="band">[0.7083, 1.0000]</span> <span class="realized">realized 0.7049</span></td>' +
        '<td data-metric="f1"><b>–</b> <span class="realized">realized 0.5000</span></td>',
    );
    // No labels yet: no realized figure; both estimates outside their bands.
    expect(row('2026-03-01T01:00:00.000Z')).toBe(
      '<td>2026-03-01 01:00</td><td>7</td>' +
        '<td data-metric="roc_auc" class="alert"><b>0.5000</b> <span class="band">[0.7083, 1.0000]</span></td>' +
        '<td data-metric="f1" class="alert"><b>0.2500</b> <span class="band">[0.3000, 0.9000]</span></td>',
    );
  });

  it('is in the page (markup and embedded data) only when given, and escapes what it prints', () => {
    const input = {
      title: 't',
      subtitle: 's',
      datasetDriftShare: 0.5,
      distributions: [],
      buckets: [bucket('2026-03-01', [column('x')])],
    };
    expect(renderDriftReportHtml(input)).not.toContain('id="estimated-performance"');
    const hostile = { ...performance, method: '<script>', metrics: ['<i>'] };
    const html = renderDriftReportHtml({ ...input, performance: hostile });
    expect(html).toContain('<h2>Estimated performance (&lt;SCRIPT&gt;)</h2>');
    expect(html).toContain('<th>&lt;i&gt;</th>');
    const data = JSON.parse(/id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as { performance: unknown };
    expect(data.performance).toEqual(hostile);
  });
});
