import { describe, expect, it } from 'vitest';
import {
  RowError,
  SampleBuilder,
  numberCategories,
  referenceCategories,
  summarizeColumn,
} from '../../../src/drift/engine/samples.js';
import type { RawColumn } from '../../../src/drift/engine/types.js';
import { valueColumns } from '../../../src/collectors/rows.js';

function build(rows: unknown[]): Map<string, RawColumn> {
  const builder = new SampleBuilder();
  rows.forEach((r, i) => builder.addRow(r, `rows[${i}]`));
  return new Map(builder.build().map((c) => [`${c.role}:${c.column}`, c]));
}

describe('SampleBuilder: rows to raw columns', () => {
  it('splits flat rows into features and the prediction, score and label columns, nulls dropped', () => {
    const cols = build([
      { age: 30, region: 'north', vip: true, prediction: 1, score: 0.8, label: '1' },
      { age: 20, region: null, vip: false, prediction: 0, score: null },
      { features: { age: 25, region: 'south' }, prediction: 'true', label: false },
    ]);
    expect([...cols.keys()].sort()).toEqual([
      'feature:age',
      'feature:region',
      'feature:vip',
      'label:label',
      'prediction:prediction',
      'score:score',
    ]);
    expect(Array.from(cols.get('feature:age')!.numbers)).toEqual([20, 25, 30]);
    expect(cols.get('feature:region')!.texts).toEqual(
      new Map([
        ['north', 1],
        ['south', 1],
      ]),
    );
    // Booleans are text, as the collectors store them.
    expect(cols.get('feature:vip')!.texts).toEqual(
      new Map([
        ['true', 1],
        ['false', 1],
      ]),
    );
    // Like the collectors: a numeric string prediction or label is a number; 'true' stays text.
    expect(Array.from(cols.get('prediction:prediction')!.numbers)).toEqual([0, 1]);
    expect(cols.get('prediction:prediction')!.texts).toEqual(new Map([['true', 1]]));
    expect(Array.from(cols.get('label:label')!.numbers)).toEqual([1]);
    expect(cols.get('label:label')!.texts).toEqual(new Map([['false', 1]]));
  });

  it('keeps a numeric string feature as text (features_str keeps strings)', () => {
    const cols = build([{ zip: '94110' }]);
    expect(cols.get('feature:zip')!.texts).toEqual(new Map([['94110', 1]]));
  });

  it("reads a prediction or label as a number by the collectors' decimal rule, not Number's other bases", () => {
    // Number('0x10') is 16, Number('0b11') 3; the collectors keep such classes as text (review 26, finding 3).
    const cols = build([
      { prediction: '0x10', label: '0b11' },
      { prediction: '0o7', label: ' 12 ' },
      { prediction: '-1.5e3', label: '.5' },
      { prediction: 'Infinity', label: '' },
    ]);
    expect(Array.from(cols.get('prediction:prediction')!.numbers)).toEqual([-1500]);
    expect([...cols.get('prediction:prediction')!.texts.keys()]).toEqual(['0x10', '0o7', 'Infinity']);
    expect(Array.from(cols.get('label:label')!.numbers)).toEqual([0.5, 12]);
    expect([...cols.get('label:label')!.texts.keys()]).toEqual(['0b11', '']);
  });

  it("keeps the same decimal rule as the collectors' copy (src/collectors/rows.ts)", () => {
    const texts = [
      '0x10',
      '0b11',
      '0o7',
      ' 12 ',
      '-1.5e3',
      '.5',
      '1.',
      '+3',
      '1e999',
      'Infinity',
      '',
      ' ',
      '1_000',
      'NaN',
      '-0',
      '1e-400',
    ];
    for (const text of texts) {
      const numbers = build([{ prediction: text }]).get('prediction:prediction')!.numbers;
      expect(numbers.length === 1 ? numbers[0] : null, JSON.stringify(text)).toBe(valueColumns(text).num);
    }
  });

  it('a row key named like an Object.prototype member is an ordinary feature (review 26, finding 1)', () => {
    const names = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];
    const row = Object.fromEntries(names.map((name) => [name, 1]));
    // JSON.parse makes `__proto__` an own key, as the route's body parser does.
    const cols = build([JSON.parse(JSON.stringify(row)), { features: { constructor: 'ferrari' } }]);
    expect([...cols.keys()].sort()).toEqual(names.map((name) => `feature:${name}`).sort());
    expect(cols.get('feature:constructor')!.texts).toEqual(new Map([['ferrari', 1]]));
    // …and it is ambiguous given twice, as any feature is.
    expect(() => build([{ constructor: 'a', features: { constructor: 'b' } }])).toThrow(
      /rows\[0\]\.features\.constructor: ambiguous/,
    );
  });

  it('rejects NaN and ±Infinity (a literal like 1e999 parses to Infinity) naming the field', () => {
    expect(() => build([{ a: 1 }, { a: JSON.parse('1e999') as number }])).toThrow(
      new RowError('rows[1].a', 'must be a finite number, got Infinity'),
    );
    expect(() => build([{ a: Number.NaN }])).toThrow('rows[0].a: must be a finite number, got NaN');
    expect(() => build([{ a: [1] }])).toThrow(
      'rows[0].a: must be a number, string, boolean or null, got an array',
    );
    expect(() => build([{ score: 'high' }])).toThrow('rows[0].score: score must be a number');
    expect(() => build(['x'])).toThrow('rows[0]: must be an object');
  });
});

describe('summarizeColumn: what a reference fixes', () => {
  const raw = (numbers: number[], texts: [string, number][] = []): RawColumn => ({
    role: 'feature',
    column: 'x',
    numbers: Float64Array.from(numbers).sort(),
    texts: new Map(texts),
  });

  it('numbers with more than 20 distinct values are numerical, with decile edges, bin counts and std', () => {
    const ref = summarizeColumn(raw(Array.from({ length: 100 }, (_, i) => i)), 110);
    expect(ref).toMatchObject({ valueType: 'number', kind: 'numerical', n: 100, nulls: 10, distinct: 100 });
    // np.quantile(np.arange(100), [0.1, …, 0.9])
    expect(ref.numerical!.edges).toEqual([9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.10000000000001]);
    expect(ref.numerical!.counts).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    expect(ref.numerical!.std).toBeCloseTo(28.86607004772212, 12); // np.std(np.arange(100))
    expect(ref.categories.size).toBe(0);
  });

  it('numbers with at most 20 distinct values are categorical, categories as String(n)', () => {
    const ref = summarizeColumn(raw([1, 2, 2, 3.5, -0, 0]), 6);
    expect(ref).toMatchObject({ valueType: 'number', kind: 'categorical', distinct: 4 });
    expect(ref.categories).toEqual(
      new Map([
        ['0', 2],
        ['1', 1],
        ['2', 2],
        ['3.5', 1],
      ]),
    );
    expect(summarizeColumn(raw(Array.from({ length: 21 }, (_, i) => i)), 21).kind).toBe('numerical');
    expect(summarizeColumn(raw(Array.from({ length: 20 }, (_, i) => i)), 20).kind).toBe('categorical');
  });

  it('any text makes the column text and categorical; its numbers become categories', () => {
    const ref = summarizeColumn(raw([1, 1], [['a', 3]]), 5);
    expect(ref).toMatchObject({
      valueType: 'text',
      kind: 'categorical',
      n: 5,
      distinct: 2,
      numerical: undefined,
    });
    expect(ref.categories).toEqual(
      new Map([
        ['a', 3],
        ['1', 2],
      ]),
    );
  });

  it('an all-null reference column has no sample (its windows get no statistic)', () => {
    expect(summarizeColumn(raw([]), 4)).toMatchObject({
      n: 0,
      nulls: 4,
      numerical: undefined,
      kind: 'categorical',
    });
  });

  it('derives categories when a policy makes a numerical column categorical', () => {
    const ref = summarizeColumn(raw(Array.from({ length: 30 }, (_, i) => i % 25)), 30);
    expect(ref.kind).toBe('numerical');
    expect(referenceCategories(ref).get('0')).toBe(2);
    expect(referenceCategories(ref)).toBe(referenceCategories(ref));
    expect(numberCategories(Float64Array.from([2, 2, 5]))).toEqual(
      new Map([
        ['2', 2],
        ['5', 1],
      ]),
    );
  });
});
