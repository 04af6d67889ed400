import { describe, expect, it } from 'vitest';
import { parseColumns } from '../../../src/drift/api/routes.js';
import { RowError, SampleBuilder } from '../../../src/drift/engine/samples.js';

function rowError(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RowError) return err.message;
    throw err;
  }
  throw new Error('expected a RowError');
}

describe('reference rows: limits and ambiguity', () => {
  it('stops at the first feature column past the limit; prediction, score and label do not count', () => {
    const builder = new SampleBuilder(undefined, { maxFeatureColumns: 2 });
    builder.addRow({ a: 1, b: 2, prediction: 1, score: 0.5, label: 0 }, 'rows[0]');
    builder.addRow({ a: 3, b: null, c: null }, 'rows[1]');
    expect(rowError(() => builder.addRow({ a: 1, features: { c: 1 } }, 'rows[2]'))).toBe(
      'rows[2].features.c: a reference may hold at most 2 feature columns; this one is column 3',
    );
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`f${i}`, i]));
    expect(
      rowError(() => new SampleBuilder(undefined, { maxFeatureColumns: 1_000 }).addRow(wide, 'rows[0]')),
    ).toMatch(/^rows\[0\]\.f1000: /);
  });

  it('refuses names longer than the limit, quoting only their start', () => {
    const builder = new SampleBuilder(undefined, { maxNameLength: 256 });
    builder.addRow({ ['a'.repeat(256)]: 1 }, 'rows[0]');
    const message = rowError(() => builder.addRow({ features: { ['b'.repeat(100_000)]: 1 } }, 'rows[1]'));
    expect(message).toBe(
      `rows[1].features.${'b'.repeat(40)}…: the column name is 100000 characters long; at most 256 are allowed`,
    );
  });

  it('refuses a feature given both at the top level and in features, and nothing else', () => {
    expect(rowError(() => new SampleBuilder().addRow({ x: 1, features: { x: 2 } }, 'rows[3]'))).toBe(
      "rows[3].features.x: ambiguous: the row also has a top-level 'x'; give each feature once",
    );
    // A feature named like a role is a feature, not the role: no ambiguity.
    const builder = new SampleBuilder();
    builder.addRow({ prediction: 1, features: { prediction: 2, y: 3 } }, 'rows[0]');
    expect(
      builder
        .build()
        .map((c) => `${c.role}:${c.column}`)
        .sort(),
    ).toEqual(['feature:prediction', 'feature:y', 'prediction:prediction']);
  });
});

describe('columns filter', () => {
  it('splits, trims and de-duplicates names; empty names are a 400', () => {
    expect(parseColumns(undefined)).toBeUndefined();
    expect(parseColumns('x, score,x')).toEqual(['x', 'score']);
    for (const bad of ['', 'x,', ',x', 'x,,y', ' '])
      expect(() => parseColumns(bad), bad).toThrow(/^querystring\/columns: /);
  });
});
