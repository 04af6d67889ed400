/**
 * The walk pool runs KS and W1 on worker threads. Its worker is the compiled module (dist/, built
 * by `npm run build`), so this test loads the pool from there: results must equal the ones this
 * thread computes, bit for bit, whatever memory the samples live in, and bad samples must fail
 * the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateWindow, evaluateWindowOn, planColumns } from '../../src/drift/engine/evaluate.js';
import { referenceFromRaw } from '../../src/drift/engine/in-memory.js';
import { driftSettings } from '../../src/drift/engine/settings.js';
import type { RawColumn, WindowSample } from '../../src/drift/engine/types.js';
import { numericalDrift, numericalReference } from '../../src/drift/statistics/index.js';
import type { WalkPool } from '../../src/drift/walks/walk-pool.js';
import { importCompiled } from '../support/compiled.js';
import { sample, sorted } from '../unit/drift/samples.js';

let pool: WalkPool;
let Compiled: typeof WalkPool;

beforeAll(async () => {
  ({ WalkPool: Compiled } =
    await importCompiled<typeof import('../../src/drift/walks/walk-pool.js')>('drift/walks/walk-pool.js'));
  const created = Compiled.create({ threads: 2, minValues: 1000 });
  if (!created) throw new Error('the compiled walk pool found no worker module next to it');
  pool = created;
});

afterAll(async () => {
  await pool?.close();
});

function shared(values: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}

describe('walks on worker threads', () => {
  const ref = numericalReference(shared(sorted(sample(60_000, 11))));
  const cases = [
    ['shifted', sorted(sample(50_001, 12, 0.05))],
    ['same distribution', sorted(sample(40_000, 13))],
    ['ties', sorted(sample(30_000, 14, 0, 1, 0.25))],
  ] as const;

  it.each(cases)(
    'KS and W1 (%s) equal this thread’s, bit for bit, the window in shared or private memory',
    async (_, cur) => {
      for (const method of ['ks', 'wasserstein'] as const) {
        const here = numericalDrift(method, ref, cur, 0.05);
        for (const c of [cur, shared(cur)]) {
          const there = await pool.run({ method, ref, sorted: c, threshold: 0.05 });
          expect(Object.is(there.statistic, here.statistic)).toBe(true);
          expect(Object.is(there.pValue, here.pValue)).toBe(true);
          expect(there).toEqual(here);
        }
      }
    },
  );

  it('takes only large KS/W1 columns', () => {
    const small = sorted(sample(100, 1));
    expect(pool.accepts('ks', ref, cases[0][1].length)).toBe(true);
    expect(pool.accepts('wasserstein', ref, cases[0][1].length)).toBe(true);
    expect(pool.accepts('psi', ref, cases[0][1].length)).toBe(false);
    expect(pool.accepts('ks', numericalReference(small), small.length)).toBe(false);
    expect(pool.accepts('ks', ref, 0)).toBe(false);
    // A reference outside shared memory (a segment's, built per request) stays on this thread.
    expect(pool.accepts('ks', numericalReference(sorted(sample(60_000, 11))), cases[0][1].length)).toBe(
      false,
    );
  });

  it('takes a costly exact KS p-value below minValues, with the same result as this thread', async () => {
    const strict = Compiled.create({ threads: 1, minValues: 200_000 })!;
    try {
      const ref5k = numericalReference(shared(sorted(sample(5_000, 51))));
      const drifted = sorted(sample(3_000, 52, 0.5));
      // 5,000 × 3,000 unequal, exact: a lattice-path recursion of ~0.24 s when drifted.
      expect(strict.accepts('ks', ref5k, drifted.length)).toBe(true);
      expect(strict.accepts('wasserstein', ref5k, drifted.length)).toBe(false);
      // Equal sizes have a closed form; 5,000 × 100 is cheap; above 10,000 the p-value is asymptotic.
      expect(strict.accepts('ks', ref5k, 5_000)).toBe(false);
      expect(strict.accepts('ks', ref5k, 100)).toBe(false);
      const ref12k = numericalReference(shared(sorted(sample(12_000, 55))));
      expect(strict.accepts('ks', ref12k, drifted.length)).toBe(false);
      const there = await strict.run({ method: 'ks', ref: ref5k, sorted: drifted, threshold: 0.05 });
      const here = numericalDrift('ks', ref5k, drifted, 0.05);
      expect(there).toEqual(here);
      expect(Object.is(there.pValue, here.pValue)).toBe(true);
      expect(here.drifted).toBe(true);
    } finally {
      await strict.close();
    }
  });

  it('refuses a reference outside shared memory rather than copying it with every window', async () => {
    const outside = numericalReference(sorted(sample(60_000, 11)));
    await expect(
      pool.run({ method: 'ks', ref: outside, sorted: cases[0][1], threshold: 0.05 }),
    ).rejects.toThrow(/shared memory/);
  });

  it('many columns at once (more than its reused slots) all get their own results', async () => {
    const columns = Array.from({ length: 12 }, (_, k) => sorted(sample(5_000 + 997 * k, 40 + k, k / 20)));
    const results = await Promise.all(
      columns.map((c) => pool.run({ method: 'wasserstein', ref, sorted: c, threshold: 0.1 })),
    );
    results.forEach((r, k) => expect(r).toEqual(numericalDrift('wasserstein', ref, columns[k]!, 0.1)));
    expect(results.filter((r) => r.drifted).length).toBeGreaterThan(0);
  });

  it('a current sample holding NaN or out of order fails as on this thread', async () => {
    const nan = Float64Array.from(cases[0][1]);
    nan[nan.length - 1] = NaN;
    await expect(pool.run({ method: 'ks', ref, sorted: nan, threshold: 0.05 })).rejects.toThrow(/sortedC/);
    const unsorted = Float64Array.from(cases[0][1]).reverse();
    await expect(pool.run({ method: 'wasserstein', ref, sorted: unsorted, threshold: 0.1 })).rejects.toThrow(
      /sortedC/,
    );
    expect(() => numericalDrift('wasserstein', ref, unsorted, 0.1)).toThrow(/sortedC/);
  });

  it('an unsorted reference is refused before any worker sees it', async () => {
    const bad = { ...ref, sorted: shared(Float64Array.from(ref.sorted).reverse()) };
    await expect(pool.run({ method: 'ks', ref: bad, sorted: cases[0][1], threshold: 0.05 })).rejects.toThrow(
      /sortedR/,
    );
  });

  it('a whole window: the same bucket as evaluateWindow, every method', async () => {
    const raw: RawColumn[] = [
      { role: 'feature', column: 'a', numbers: sorted(sample(20_000, 21)), texts: new Map() },
      { role: 'feature', column: 'b', numbers: sorted(sample(20_000, 22, 0, 1, 0.5)), texts: new Map() },
      { role: 'feature', column: 'c', numbers: new Float64Array(0), texts: new Map([['x', 5]]) },
      { role: 'score', column: 'score', numbers: sorted(sample(20_000, 23)), texts: new Map() },
    ];
    for (const c of raw) c.numbers = shared(c.numbers);
    const reference = referenceFromRaw(
      {
        modelId: 'm',
        version: '1',
        revision: 1,
        source: 'rows',
        from: null,
        to: null,
        rows: 20_000,
        setAt: 0,
      },
      raw,
    );
    const window: WindowSample = {
      start: 0,
      end: 3_600_000,
      count: 15_000,
      columns: new Map([
        ['feature\u0000a', { sorted: shared(sorted(sample(15_000, 31, 0.2))) }],
        ['feature\u0000b', { sorted: sorted(sample(15_000, 32, 0, 1, 0.5)) }],
        [
          'feature\u0000c',
          {
            categories: new Map([
              ['x', 3],
              ['y', 1],
            ]),
          },
        ],
        ['score\u0000score', { sorted: sorted(sample(15_000, 33)) }],
      ]),
    };
    const settings = driftSettings();
    for (const method of ['auto', 'ks', 'wasserstein', 'psi', 'jensenshannon'] as const) {
      const plans = planColumns(reference, settings, method);
      const expected = evaluateWindow(plans, window, settings.datasetDriftShare);
      const before = pool.completed;
      const actual = await evaluateWindowOn(pool, plans, window, settings.datasetDriftShare);
      expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
      expect(actual.columns.some((c) => c.statistic !== null)).toBe(true);
      // The KS and W1 walks (auto picks W1 above 1,000 reference values) ran on the pool, not here.
      if (method !== 'psi' && method !== 'jensenshannon')
        expect(pool.completed, method).toBeGreaterThan(before);
    }
  });
});
