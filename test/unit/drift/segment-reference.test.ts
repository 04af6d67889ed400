import { describe, expect, it } from 'vitest';
import { evaluateWindow, planColumns } from '../../../src/drift/engine/evaluate.js';
import { referenceFromRaw, windowFromRaw } from '../../../src/drift/engine/in-memory.js';
import { numberCategories } from '../../../src/drift/engine/samples.js';
import { driftSettings } from '../../../src/drift/engine/settings-core.js';
import type { RawColumn, Reference } from '../../../src/drift/engine/types.js';
import { withPopulationKinds } from '../../../src/drift/segments/segment-reference.js';

const numbers = (values: number[]): RawColumn => ({
  role: 'feature',
  column: 'x',
  numbers: Float64Array.from(values).sort(),
  texts: new Map(),
});

function reference(column: RawColumn, rows: number): Reference {
  const info = {
    modelId: 'm',
    version: '1',
    revision: 1,
    source: 'range' as const,
    from: 0,
    to: 1,
    setAt: 0,
  };
  return referenceFromRaw({ ...info, rows }, [column]);
}

/** 0, 1, …, distinct − 1, each `repeat` times. */
const spread = (distinct: number, repeat: number) =>
  Array.from({ length: distinct * repeat }, (_, i) => i % distinct);

describe("a segment's own reference keeps the population's column kinds", () => {
  it('a categorical number column whose segment holds more than 20 distinct numbers: categorical, with its numbers as categories', () => {
    // The population's reference range had 10 distinct values; the segment's rows hold 30.
    const population = reference(numbers(spread(10, 40)), 400);
    expect(population.columns[0]!.kind).toBe('categorical');
    const segment = reference(numbers(spread(30, 5)), 150);
    expect(segment.columns[0]!.kind).toBe('numerical');

    const [column] = withPopulationKinds(segment, population).columns;
    expect(column!.kind).toBe('categorical');
    // As summarizeColumn counts a categorical number column: each number as String(n).
    expect(column!.categories).toEqual(numberCategories(numbers(spread(30, 5)).numbers));
    expect(column!.categories.size).toBe(30);
    expect(column!.categories.get('29')).toBe(5);

    // So the column is measured (chi2 below 1,000 reference values), not left without a statistic.
    const settings = driftSettings();
    const plans = planColumns(segment, settings);
    expect(plans[0]!.kind).toBe('categorical');
    const window = windowFromRaw(plans, [numbers(spread(30, 2).map((v) => (v + 1) % 30))], {
      start: 0,
      end: 1,
      count: 60,
    });
    const [measured] = evaluateWindow(plans, window, settings.datasetDriftShare).columns;
    expect(measured).toMatchObject({ column: 'x', kind: 'categorical', method: 'chi2', count: 60 });
    expect(measured!.statistic).not.toBeNull();
  });

  it('a numerical column whose segment holds 20 distinct numbers or fewer: numerical, without categories', () => {
    const population = reference(numbers(spread(50, 4)), 200);
    expect(population.columns[0]!.kind).toBe('numerical');
    const segment = reference(numbers(spread(5, 10)), 50);
    expect(segment.columns[0]!.kind).toBe('categorical');

    const [column] = withPopulationKinds(segment, population).columns;
    expect(column!.kind).toBe('numerical');
    expect(column!.categories.size).toBe(0);
    expect(column!.numerical!.sorted.length).toBe(50);
  });

  it('a column the population does not have keeps its own kind', () => {
    const population = reference({ ...numbers(spread(10, 4)), column: 'y' }, 40);
    const segment = reference(numbers(spread(30, 5)), 150);
    expect(withPopulationKinds(segment, population).columns[0]!.kind).toBe('numerical');
  });
});
