import { describe, expect, it } from 'vitest';
import { evaluateWindow, evaluateWindowOn, planColumns } from '../../../src/drift/engine/evaluate.js';
import { referenceFromRaw, windowFromRaw } from '../../../src/drift/engine/in-memory.js';
import { SampleBuilder } from '../../../src/drift/engine/samples.js';
import { driftSettings, type DriftPolicy } from '../../../src/drift/engine/settings.js';
import type { ColumnDrift, Reference } from '../../../src/drift/engine/types.js';
import { sample } from './samples.js';

function reference(rows: Record<string, unknown>[]): Reference {
  const builder = new SampleBuilder();
  rows.forEach((r, i) => builder.addRow(r, `rows[${i}]`));
  return referenceFromRaw(
    {
      modelId: 'm',
      version: '1',
      revision: 1,
      source: 'rows',
      from: null,
      to: null,
      rows: builder.rows,
      setAt: 0,
    },
    builder.build(),
  );
}

function run(
  ref: Reference,
  rows: Record<string, unknown>[],
  policy: DriftPolicy = {},
  method?: 'auto' | 'ks' | 'psi' | 'chi2',
) {
  const settings = driftSettings(policy);
  const plans = planColumns(ref, settings, method);
  const builder = new SampleBuilder();
  rows.forEach((r, i) => builder.addRow(r, `cur[${i}]`));
  const bucket = evaluateWindow(
    plans,
    windowFromRaw(plans, builder.build(), { start: 0, end: 3_600_000, count: builder.rows }),
    settings.datasetDriftShare,
  );
  return { bucket, column: (name: string): ColumnDrift => bucket.columns.find((c) => c.column === name)! };
}

/** n evenly spread values: a deterministic stand-in for a sample of a continuous feature. */
const spread = (n: number, shift = 0) => Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n + shift);

describe('column plans: kind, method, threshold', () => {
  it('auto picks ks / chi2 up to 1000 reference values and wasserstein / jensenshannon above', () => {
    const small = reference(spread(1000).map((x, i) => ({ x, c: `k${i % 3}` })));
    const large = reference(spread(1001).map((x, i) => ({ x, c: `k${i % 3}` })));
    expect(planColumns(small, driftSettings()).map((p) => [p.ref.column, p.kind, p.method])).toEqual([
      ['c', 'categorical', 'chi2'],
      ['x', 'numerical', 'ks'],
    ]);
    expect(planColumns(large, driftSettings()).map((p) => p.method)).toEqual([
      'jensenshannon',
      'wasserstein',
    ]);
  });

  it('orders features by name, then prediction, score and label', () => {
    const ref = reference([{ label: 1, b: 1, score: 0.5, a: 2, prediction: 1 }]);
    expect(planColumns(ref, driftSettings()).map((p) => p.ref.column)).toEqual([
      'a',
      'b',
      'prediction',
      'score',
      'label',
    ]);
  });

  it('a requested method applies where it fits; other columns keep their policy method or auto', () => {
    const ref = reference(spread(200).map((x, i) => ({ x, y: x * 2, c: `k${i % 4}` })));
    const plans = (policy: DriftPolicy, method?: 'ks' | 'psi') =>
      planColumns(ref, driftSettings(policy), method).map((p) => `${p.ref.column}:${p.method}`);
    expect(plans({}, 'ks')).toEqual(['c:chi2', 'x:ks', 'y:ks']);
    expect(plans({}, 'psi')).toEqual(['c:psi', 'x:psi', 'y:psi']);
    expect(plans({ method: 'jensenshannon' }, 'ks')).toEqual(['c:jensenshannon', 'x:ks', 'y:ks']);
    expect(plans({ method: 'wasserstein', columns: { y: { method: 'psi' } } })).toEqual([
      'c:chi2',
      'x:wasserstein',
      'y:psi',
    ]);
    // The request outranks the policy.
    expect(plans({ columns: { y: { method: 'psi' } } }, 'ks')).toEqual(['c:chi2', 'x:ks', 'y:ks']);
  });

  it('a policy can override the kind, except that a text column stays categorical', () => {
    const ref = reference(spread(200).map((x, i) => ({ x, n: i % 5, c: `k${i % 4}` })));
    const plans = planColumns(
      ref,
      driftSettings({
        columns: { x: { kind: 'categorical' }, n: { kind: 'numerical' }, c: { kind: 'numerical' } },
      }),
    );
    expect(plans.map((p) => [p.ref.column, p.kind, p.method, p.needs])).toEqual([
      ['c', 'categorical', 'chi2', 'categories'],
      ['n', 'numerical', 'ks', 'sorted'],
      ['x', 'categorical', 'chi2', 'categories'],
    ]);
  });

  it('thresholds: the column, else the model per method, else the default', () => {
    const ref = reference(spread(2000).map((x) => ({ x, y: x, z: x })));
    const plans = planColumns(
      ref,
      driftSettings({
        thresholds: { wasserstein: 0.2 },
        columns: { y: { threshold: 0.05 }, z: { method: 'psi' } },
      }),
    );
    expect(plans.map((p) => [p.ref.column, p.method, p.threshold])).toEqual([
      ['x', 'wasserstein', 0.2],
      ['y', 'wasserstein', 0.05],
      ['z', 'psi', 0.1],
    ]);
  });
});

describe('a column threshold applies where it fits the method', () => {
  it('not as a p-value cut-off above 1, nor under a method it was not set for', () => {
    const ref = reference(spread(500).map((x) => ({ x, y: x, z: x })));
    const settings = driftSettings({
      thresholds: { ks: 0.01 },
      columns: { x: { threshold: 2 }, y: { method: 'psi', threshold: 0.2 }, z: { threshold: 0.001 } },
    });
    // auto: KS for 500 values. x's 2 would make `p < 2` (drift in every window); y's 0.2 was set for PSI.
    expect(planColumns(ref, settings).map((p) => [p.ref.column, p.method, p.threshold])).toEqual([
      ['x', 'ks', 0.01],
      ['y', 'psi', 0.2],
      ['z', 'ks', 0.001],
    ]);
    expect(planColumns(ref, settings, 'ks').map((p) => [p.ref.column, p.threshold])).toEqual([
      ['x', 0.01],
      ['y', 0.01],
      ['z', 0.001],
    ]);
    // The same sample on both sides: no drift, whatever the column's threshold.
    const same = run(
      ref,
      spread(500).map((x) => ({ x, y: x, z: x })),
      {
        columns: { x: { threshold: 2 } },
      },
    );
    expect([same.column('x').method, same.column('x').drifted]).toEqual(['ks', false]);
  });
});

describe('window results', () => {
  const ref = reference(
    spread(2000).map((x, i) => ({ a: x, b: x, c: x, d: `k${i % 4}`, prediction: i % 2, score: x })),
  );

  it('flags the drifted columns and computes the dataset share over features only', () => {
    const { bucket, column } = run(
      ref,
      spread(500).map((x, i) => ({ a: x + 0.5, b: x, c: x, d: `k${i % 4}`, prediction: 1, score: x + 0.5 })),
    );
    expect(bucket.columns.filter((c) => c.drifted).map((c) => c.column)).toEqual([
      'a',
      'prediction',
      'score',
    ]);
    // 1 of 4 features: prediction and score drift too, but dataset drift is about features.
    expect(bucket.drift_share).toBe(0.25);
    expect(bucket.dataset_drift).toBe(false);
    expect(column('a')).toMatchObject({
      kind: 'numerical',
      method: 'wasserstein',
      p_value: null,
      threshold: 0.1,
      count: 500,
    });
    expect(column('a').statistic).toBeGreaterThan(1);
    expect(column('prediction')).toMatchObject({
      role: 'prediction',
      kind: 'categorical',
      method: 'jensenshannon',
    });
  });

  it('dataset drift when the share reaches the policy threshold', () => {
    const rows = spread(500).map((x, i) => ({ a: x + 0.5, b: x + 0.5, c: x, d: `k${i % 4}` }));
    expect(run(ref, rows).bucket).toMatchObject({ drift_share: 0.5, dataset_drift: true });
    expect(run(ref, rows, { dataset_drift_share: 0.6 }).bucket).toMatchObject({
      drift_share: 0.5,
      dataset_drift: false,
    });
  });

  it('a column with no values in the window has no statistic and does not count in the share', () => {
    const { bucket, column } = run(
      ref,
      spread(300).map((x) => ({ a: x + 0.5, b: null, d: null })),
    );
    expect(column('b')).toMatchObject({ statistic: null, p_value: null, drifted: false, count: 0 });
    expect(column('d')).toMatchObject({ statistic: null, p_value: null, drifted: false, count: 0 });
    // c is absent from every row as well; a is the only feature measured, and it drifted.
    expect(bucket).toMatchObject({ drift_share: 1, dataset_drift: true });
  });

  it('a category absent from the reference: chi2 is infinite (null) with p = 0; jensenshannon stays finite', () => {
    const small = reference(spread(300).map((_, i) => ({ d: `k${i % 3}` })));
    const rows = spread(90).map((_, i) => ({ d: i === 0 ? 'new' : `k${i % 3}` }));
    expect(run(small, rows).column('d')).toMatchObject({
      method: 'chi2',
      statistic: null,
      p_value: 0,
      drifted: true,
    });
    const js = run(small, rows, { method: 'jensenshannon' }).column('d');
    expect(js.statistic).toBeGreaterThan(0);
    expect(js.statistic).toBeLessThan(0.1);
    expect(js.drifted).toBe(false);
  });

  it('a constant reference column: categorical by default, numerical on request (W1 over std floor 0.001)', () => {
    const constant = reference(Array.from({ length: 50 }, () => ({ k: 5 })));
    expect(run(constant, [{ k: 5 }, { k: 5 }]).column('k')).toMatchObject({
      kind: 'categorical',
      method: 'chi2',
      statistic: 0,
      p_value: 1,
      drifted: false,
    });
    const numerical = { columns: { k: { kind: 'numerical' as const, method: 'wasserstein' as const } } };
    expect(run(constant, [{ k: 5 }], numerical).column('k')).toMatchObject({ statistic: 0, drifted: false });
    const moved = run(constant, [{ k: 5.0005 }], numerical).column('k');
    expect(moved.statistic).toBeCloseTo(0.5, 9);
    expect(moved.drifted).toBe(true);
    expect(run(constant, [{ k: 6 }], { columns: { k: { kind: 'numerical' } } }).column('k')).toMatchObject({
      method: 'ks',
      statistic: 1,
      drifted: true,
    });
  });

  it('tiny windows: one value still gets an exact KS p-value', () => {
    const small = reference(spread(100).map((x) => ({ x })));
    const one = run(small, [{ x: 0.5 }]).column('x');
    expect(one).toMatchObject({ method: 'ks', count: 1, drifted: false });
    expect(one.statistic).toBeCloseTo(0.5, 12);
    expect(one.p_value).toBeGreaterThan(0.05);
  });

  it('an empty window (no rows) has no statistics and no dataset drift', () => {
    const { bucket } = run(ref, []);
    expect(bucket).toMatchObject({ count: 0, drift_share: 0, dataset_drift: false });
    expect(bucket.columns.every((c) => c.statistic === null && !c.drifted)).toBe(true);
  });

  it('a text value in a numerical column is left out; in a categorical column it is a category', () => {
    const { column } = run(ref, [...spread(100).map((x) => ({ a: x, d: 'k1' })), { a: 'oops', d: 'k1' }]);
    expect(column('a').count).toBe(100);
    expect(column('d').count).toBe(101);
  });
});

describe('columns on this thread (review 26, finding 4)', () => {
  it('give the event loop turns between them, with the same results as evaluateWindow', async () => {
    // Exact KS p-values of drifted 4,000 × 3,000 columns: ~50 ms each, five times a slice.
    const columns = ['a', 'b', 'c', 'd', 'e', 'f'];
    const rows = (n: number, seed: number, shift: number) => {
      const values = columns.map((_, k) => sample(n, seed + k, shift));
      return Array.from({ length: n }, (_, i) =>
        Object.fromEntries(columns.map((c, k) => [c, values[k]![i]!])),
      );
    };
    const ref = reference(rows(4000, 1, 0));
    const plans = planColumns(ref, driftSettings({ method: 'ks' }));
    const builder = new SampleBuilder();
    rows(3000, 50, 0.8).forEach((r, i) => builder.addRow(r, `cur[${i}]`));
    const window = windowFromRaw(plans, builder.build(), { start: 0, end: 1, count: 3000 });
    let turns = 0;
    const timer = setInterval(() => turns++, 1);
    try {
      const bucket = await evaluateWindowOn(undefined, plans, window, 0.5);
      expect(bucket).toEqual(evaluateWindow(plans, window, 0.5));
      expect(bucket.columns.every((c) => c.drifted)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(turns).toBeGreaterThanOrEqual(4);
  });
});
