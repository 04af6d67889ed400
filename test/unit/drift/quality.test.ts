import { describe, expect, it } from 'vitest';
import { referenceFromRaw } from '../../../src/drift/engine/in-memory.js';
import { SampleBuilder } from '../../../src/drift/engine/samples.js';
import { driftSettings } from '../../../src/drift/engine/settings.js';
import {
  newColumnQuality,
  referenceColumnQuality,
  windowQuality,
} from '../../../src/drift/quality/checks.js';
import { qualityReference } from '../../../src/drift/quality/reference.js';
import {
  DEFAULT_MISSING_RATE,
  MAX_NEW_COLUMNS,
  qualityPolicySchema,
  qualitySettings,
} from '../../../src/drift/quality/settings.js';
import type { ColumnCounts, QualityReferenceColumn } from '../../../src/drift/quality/types.js';

const defaults = qualitySettings();

function counts(partial: Partial<ColumnCounts>): ColumnCounts {
  return { numbers: 0, texts: 0, outside: 0, unseenNumbers: 0, unseenTexts: 0, top: [], ...partial };
}

function ref(partial: Partial<QualityReferenceColumn>): QualityReferenceColumn {
  return {
    column: 'x',
    valueType: 'number',
    kind: 'numerical',
    missingRate: 0,
    hadValues: true,
    ...partial,
  };
}

describe('quality checks of one column', () => {
  it('measures the missing rate against the reference’s own', () => {
    const at = (missing: number, refMissing: number) =>
      referenceColumnQuality(
        ref({ missingRate: refMissing }),
        counts({ numbers: 100 - missing }),
        100,
        defaults,
      );
    expect(at(5, 0)).toMatchObject({ missing_rate: 0.05, flags: [], flagged: false });
    expect(at(6, 0)).toMatchObject({ missing_rate: 0.06, flags: ['missing'], flagged: true });
    // 30% missing is normal for a column 28% missing in the reference.
    expect(at(30, 0.28).flags).toEqual([]);
    expect(at(34, 0.28).flags).toEqual(['missing']);
  });

  it('numerical: shares outside [min, max] and text values as the wrong type', () => {
    const q = referenceColumnQuality(ref({}), counts({ numbers: 95, outside: 19, texts: 5 }), 100, defaults);
    expect(q).toMatchObject({
      out_of_range_share: 0.2,
      wrong_type_share: 0.05,
      unseen_share: null,
      missing_rate: 0,
    });
    expect(q.flags).toEqual(['wrong_type', 'out_of_range']);
    expect(q.top_unseen).toEqual([]);
  });

  it('categorical text: unseen among right-typed values, numbers that are no category as the wrong type', () => {
    const q = referenceColumnQuality(
      ref({ valueType: 'text', kind: 'categorical' }),
      counts({ texts: 80, unseenTexts: 8, numbers: 20, unseenNumbers: 20, top: [{ value: 'Z', count: 8 }] }),
      100,
      defaults,
    );
    expect(q.wrong_type_share).toBe(0.2);
    expect(q.unseen_share).toBe(0.1);
    expect(q.out_of_range_share).toBeNull();
    expect(q.top_unseen).toEqual([{ value: 'Z', count: 8 }]);
    expect(q.flags).toEqual(['wrong_type', 'unseen']);
  });

  it('categorical number: unseen numbers; a number the reference knows as a category is no wrong type', () => {
    const q = referenceColumnQuality(
      ref({ kind: 'categorical' }),
      counts({ numbers: 100, unseenNumbers: 3 }),
      100,
      defaults,
    );
    expect(q).toMatchObject({ unseen_share: 0.03, wrong_type_share: 0, flagged: false });
  });

  it('a sparse reference column (97% null) absent from a small window is not gone; from a large one it is', () => {
    // 0.97^20 = 0.54: a window of 20 rows without the optional feature is what the reference predicts.
    expect(referenceColumnQuality(ref({ missingRate: 0.97 }), undefined, 20, defaults)).toMatchObject({
      status: 'reference',
      values: 0,
      missing_rate: 1,
      flags: [],
      flagged: false,
    });
    // 0.97^227 < 0.001: that many rows without a value is news; the rise (0.03) stays under `missing`.
    expect(referenceColumnQuality(ref({ missingRate: 0.97 }), undefined, 226, defaults).flags).toEqual([]);
    expect(referenceColumnQuality(ref({ missingRate: 0.97 }), undefined, 227, defaults)).toMatchObject({
      status: 'gone',
      flags: ['column_missing'],
    });
    // Half null: gone from 10 rows on (0.5^10 < 0.001), with `missing` as well.
    expect(referenceColumnQuality(ref({ missingRate: 0.5 }), undefined, 9, defaults).flags).toEqual([
      'missing',
    ]);
    expect(referenceColumnQuality(ref({ missingRate: 0.5 }), undefined, 10, defaults).flags).toEqual([
      'missing',
      'column_missing',
    ]);
    // Never null in the reference: gone from a window of one row.
    expect(referenceColumnQuality(ref({}), undefined, 1, defaults).status).toBe('gone');
  });

  it('a reference column without a value in the window is gone; one null in the reference too cannot go', () => {
    expect(referenceColumnQuality(ref({}), undefined, 50, defaults)).toMatchObject({
      status: 'gone',
      missing_rate: 1,
      flags: ['missing', 'column_missing'],
    });
    expect(
      referenceColumnQuality(ref({ hadValues: false, missingRate: 1 }), undefined, 50, defaults),
    ).toMatchObject({
      status: 'reference',
      flags: [],
    });
    // An empty window has no rate to speak of: nothing is flagged.
    expect(referenceColumnQuality(ref({}), undefined, 0, defaults)).toMatchObject({
      missing_rate: 0,
      flags: [],
    });
  });

  it('a new column is flagged unless the policy says not to', () => {
    expect(newColumnQuality('n', counts({ texts: 10 }), 40, defaults)).toMatchObject({
      status: 'new',
      values: 10,
      missing_rate: 0.75,
      flags: ['new_column'],
    });
    expect(
      newColumnQuality('n', counts({ texts: 10 }), 40, qualitySettings({ new_columns: false })).flagged,
    ).toBe(false);
  });
});

describe('quality of one window', () => {
  it('lists the reference columns in order, then at most MAX_NEW_COLUMNS new ones, most frequent first', () => {
    const reference = [ref({ column: 'a' }), ref({ column: 'b' })];
    const seen = new Map<string, ColumnCounts>([['a', counts({ numbers: 10 })]]);
    // 10,000 new keys: the answer stays bounded.
    for (let k = 0; k < 10_000; k++) seen.set(`k${k}`, counts({ numbers: (k % 7) + 1 }));
    const b = windowQuality({ start: 0, end: 3_600_000, count: 10 }, reference, seen, defaults);
    expect(b.columns.slice(0, 2).map((c) => [c.column, c.status])).toEqual([
      ['a', 'reference'],
      ['b', 'gone'],
    ]);
    const fresh = b.columns.slice(2);
    expect(fresh).toHaveLength(MAX_NEW_COLUMNS);
    expect(fresh.every((c) => c.values === 7 && c.status === 'new')).toBe(true);
    expect(b.flagged_columns).toBe(1 + MAX_NEW_COLUMNS);
    expect(b).toMatchObject({
      start: '1970-01-01T00:00:00.000Z',
      end: '1970-01-01T01:00:00.000Z',
      count: 10,
    });
  });
});

describe('the quality policy section', () => {
  it('fills documented defaults and refuses shares outside [0, 1], non-finite numbers and unknown fields', () => {
    expect(qualitySettings().missingRate).toBe(DEFAULT_MISSING_RATE);
    expect(qualitySettings({ unseen_share: 0 }).unseenShare).toBe(0);
    const bad: [Record<string, unknown>, string][] = [
      [{ missing_rate: -0.1 }, 'missing_rate'],
      [{ missing_rate: 1.5 }, 'missing_rate'],
      [{ missing_rate: Number.NaN }, 'missing_rate'],
      [{ out_of_range_share: Number.POSITIVE_INFINITY }, 'out_of_range_share'],
      [{ wrong_type_share: 1e308 }, 'wrong_type_share'],
      [{ unseen_share: '0.1' }, 'unseen_share'],
      [{ new_columns: 'yes' }, 'new_columns'],
    ];
    for (const [policy, field] of bad) {
      const parsed = qualityPolicySchema.safeParse(policy);
      expect(parsed.success, JSON.stringify(policy)).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual([field]);
    }
    const unknown = qualityPolicySchema.safeParse({ missing: 0.1 });
    expect(unknown.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['missing'] });
  });
});

describe('the reference as quality sees it', () => {
  it('takes features only, with baseline missing rate and the drift policy’s kind (ranges and categories: quality-policy-kind.test.ts)', () => {
    const builder = new SampleBuilder();
    const rows = [
      { n: 1, c: 'a', k: 1, prediction: 1 },
      { n: 5, c: 'b', k: 2, prediction: 0 },
      { n: null, c: 'a', k: 1, prediction: 1 },
      { n: 3, c: null, k: 300, prediction: 0 },
    ];
    rows.forEach((r, i) => builder.addRow(r, `rows[${i}]`));
    const reference = referenceFromRaw(
      { modelId: 'm', version: '1', revision: 1, source: 'rows', from: null, to: null, rows: 4, setAt: 0 },
      builder.build(),
    );
    const columns = qualityReference(reference, driftSettings({ columns: { n: { kind: 'categorical' } } }));
    const byName = Object.fromEntries(columns.map((c) => [c.column, c]));
    expect(Object.keys(byName).sort()).toEqual(['c', 'k', 'n']);
    // n: made categorical by the drift policy.
    expect(byName['n']).toMatchObject({ kind: 'categorical', missingRate: 0.25, hadValues: true });
    expect(byName['c']).toMatchObject({ valueType: 'text', kind: 'categorical', missingRate: 0.25 });
    // k: three distinct numbers, categorical by inference (SPEC 5).
    expect(byName['k']).toMatchObject({ valueType: 'number', kind: 'categorical' });
    const numerical = qualityReference(reference, driftSettings({ columns: { k: { kind: 'numerical' } } }));
    expect(numerical.find((c) => c.column === 'k')).toMatchObject({ kind: 'numerical', missingRate: 0 });
  });
});
