import { describe, expect, it } from 'vitest';
import { planColumns } from '../../../src/drift/engine/evaluate.js';
import { referenceFromRaw, windowFromRaw } from '../../../src/drift/engine/in-memory.js';
import { driftSettings } from '../../../src/drift/engine/settings.js';
import type { ColumnDrift, RawColumn } from '../../../src/drift/engine/types.js';
import {
  columnDistributions,
  renderDriftReportHtml,
  reportModel,
  scriptJson,
  type ReportBucket,
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
