import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertSortedFinite } from '../../../src/drift/statistics/validate.js';

/** The rule as first written: each value finite, none below the one before; the first fault named. */
function perValueRule(values: Float64Array, name: string): string | undefined {
  let prev = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) return `${name} must hold finite numbers only, got ${v}`;
    if (v < prev) return `${name} must be sorted ascending`;
    prev = v;
  }
  return undefined;
}

function complaint(values: Float64Array): string | undefined {
  try {
    assertSortedFinite(values, 'sample');
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(RangeError);
    return (err as Error).message;
  }
}

describe('assertSortedFinite', () => {
  it('accepts sorted finite samples, with ties, -0 and the extremes', () => {
    expect(complaint(new Float64Array(0))).toBeUndefined();
    expect(complaint(Float64Array.of(-0, 0, 0, 1))).toBeUndefined();
    expect(complaint(Float64Array.of(-Number.MAX_VALUE, 5e-324, Number.MAX_VALUE))).toBeUndefined();
  });

  it('names a non-finite value wherever it is, and an unsorted pair', () => {
    expect(complaint(Float64Array.of(Number.NaN))).toBe('sample must hold finite numbers only, got NaN');
    expect(complaint(Float64Array.of(Number.NaN, 1, 2))).toBe(
      'sample must hold finite numbers only, got NaN',
    );
    expect(complaint(Float64Array.of(1, Number.NaN, 2))).toBe(
      'sample must hold finite numbers only, got NaN',
    );
    expect(complaint(Float64Array.of(1, 2, Infinity))).toBe(
      'sample must hold finite numbers only, got Infinity',
    );
    expect(complaint(Float64Array.of(-Infinity, 1))).toBe(
      'sample must hold finite numbers only, got -Infinity',
    );
    expect(complaint(Float64Array.of(1, 3, 2))).toBe('sample must be sorted ascending');
    // The first fault in order is the one named, as before.
    expect(complaint(Float64Array.of(2, 1, Infinity))).toBe('sample must be sorted ascending');
    expect(complaint(Float64Array.of(Infinity, 1))).toBe(
      'sample must hold finite numbers only, got Infinity',
    );
  });

  it('agrees with the per-value rule on any sample, mostly sorted ones', () => {
    const value = fc.oneof(
      { weight: 20, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 0) },
    );
    const sample = fc.tuple(fc.array(value, { maxLength: 40 }), fc.boolean()).map(([values, sort]) => {
      const array = Float64Array.from(values);
      return sort ? array.sort() : array;
    });
    fc.assert(
      fc.property(sample, (values) => {
        expect(complaint(values)).toBe(perValueRule(values, 'sample'));
      }),
      { numRuns: 2000 },
    );
  });
});
