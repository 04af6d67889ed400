import { describe, expect, it } from 'vitest';
import { encodeMatrix } from '../../../src/inference/encode-matrix.js';
import { encodeRows } from '../../../src/inference/encode-rows.js';
import { parseMetadata, type FeatureSpec } from '../../../src/inference/index.js';

const numbers = (names: string[]): FeatureSpec[] => names.map((name) => ({ name, type: 'number' }));

describe('the row reader generated per model', () => {
  it('hostile feature names are only ever property names', () => {
    const names = [
      '"]; globalThis.injected = 1; //',
      "'); throw new Error('x'); ('",
      'back\\slash',
      'line\u2028separator',
      '${`template`}',
      '__proto__',
      'constructor',
      'a\nb',
    ];
    const columns = parseMetadata(
      { task: 'binary_classification', classes: ['0', '1'], positive_class: '1', features: numbers(names) },
      'test',
    ).columns;
    const row: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    names.forEach((n, i) => (row[n] = i + 0.5));
    const batch = encodeRows([row, { ...row, constructor: 'x' }], columns);
    expect(Array.from(batch.values.subarray(0, names.length))).toEqual(names.map((_, i) => i + 0.5));
    expect(batch.failures.map((f) => [f.row, f.feature, f.reason])).toEqual([
      [1, 'constructor', 'wrong_type'],
    ]);
    expect((globalThis as Record<string, unknown>)['injected']).toBeUndefined();
  });

  it('past 200 columns the generic loop gives the same answers, booleans as 1/0 included', () => {
    for (const f of [150, 300]) {
      const names = Array.from({ length: f }, (_, i) => `c${i}`);
      const row = Object.fromEntries(names.map((n, i) => [n, i / 7]));
      const flags = { ...row, c0: true, c1: false };
      const batch = encodeRows(
        [row, { ...row, c149: NaN }, row, flags, { ...row, c2: 'true' }],
        numbers(names),
      );
      expect(batch.rows).toBe(3);
      expect(Array.from(batch.values.subarray(f, 2 * f))).toEqual(names.map((_, i) => Math.fround(i / 7)));
      // A boolean is 1 or 0; the string 'true' is refused.
      expect(Array.from(batch.values.subarray(2 * f, 2 * f + 3))).toEqual([1, 0, Math.fround(2 / 7)]);
      expect(batch.failures.map((x) => [x.row, x.feature, x.reason])).toEqual([
        [1, 'c149', 'not_finite'],
        [4, 'c2', 'wrong_type'],
      ]);
    }
  });

  it('a property inherited from the prototype is missing, not a value', () => {
    const batch = encodeRows([{}], numbers(['toString']));
    expect(batch.failures.map((x) => x.message)).toEqual(["row 0, feature 'toString': missing"]);
  });
});

describe('a matrix with a categorical column', () => {
  it('holds category indices; a fraction, a negative or an index past the last category is refused', () => {
    const columns: FeatureSpec[] = [
      { name: 'x', type: 'number' },
      { name: 'region', type: 'string', categories: ['north', 'south'] },
    ];
    const values = Float64Array.of(0.5, 1, 1.5, 0.5, 2.5, 2, 3.5, -1, 4.5, 0);
    const batch = encodeMatrix({ values, rows: 5, layout: 'row-major' }, columns);
    expect(batch.rows).toBe(2);
    expect(Array.from(batch.values.subarray(0, 4))).toEqual([0.5, 1, 4.5, 0]);
    expect(batch.failures.map((x) => x.message)).toEqual([
      "row 1, feature 'region': category index 0.5 is not in [0, 2)",
      "row 2, feature 'region': category index 2 is not in [0, 2)",
      "row 3, feature 'region': category index -1 is not in [0, 2)",
    ]);
  });
});
