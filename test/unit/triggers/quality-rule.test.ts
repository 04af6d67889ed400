import { describe, expect, it } from 'vitest';
import type { StoredQualityWindow } from '../../../src/drift/index.js';
import { retrainPolicySchema, retrainRules } from '../../../src/triggers/engine/policy.js';
import { qualityFirings } from '../../../src/triggers/engine/quality-rule.js';

const HOUR = 3_600_000;

function window(hour: number, flags: Record<string, string[]>, version = '1'): StoredQualityWindow {
  const columns = Object.entries(flags).map(([column, f]) => ({
    column,
    status: 'reference' as const,
    value_type: 'number' as const,
    kind: 'numerical' as const,
    values: 10,
    missing_rate: f.includes('missing') ? 0.5 : 0,
    wrong_type_share: 0,
    unseen_share: null,
    top_unseen: [],
    out_of_range_share: 0,
    flags: f as StoredQualityWindow['columns'][number]['flags'],
    flagged: f.length > 0,
  }));
  return {
    model_id: 'm',
    version,
    start: new Date(hour * HOUR).toISOString(),
    end: new Date((hour + 1) * HOUR).toISOString(),
    count: 10,
    flagged_columns: columns.filter((c) => c.flagged).length,
    columns,
    reference_revision: 1,
  };
}

function rule(quality: Record<string, unknown>) {
  const parsed = retrainPolicySchema.parse({ quality });
  return retrainRules(parsed).quality!;
}

describe('the retrain quality condition', () => {
  it('fires at the end of K adjacent windows with a watched column flagged by a watched check', () => {
    const windows = [
      window(0, { a: ['missing'], b: [] }),
      window(1, { a: ['missing'], b: ['out_of_range'] }),
      window(2, { a: [], b: ['out_of_range'] }),
      window(4, { a: ['missing'], b: [] }),
      window(5, { a: ['missing'], b: [] }),
    ];
    const fired = qualityFirings(
      'm',
      rule({ columns: ['a'], checks: ['missing'], consecutive_windows: 2 }),
      windows,
    );
    expect(fired.map((f) => [f.reason, f.start / HOUR])).toEqual([
      ['quality', 1],
      ['quality', 5],
    ]);
    // Any column, any check: hour 2 continues the run through b.
    const any = qualityFirings('m', rule({ consecutive_windows: 3 }), windows);
    expect(any.map((f) => f.start / HOUR)).toEqual([2]);
    expect(any[0]!.evidence).toMatchObject({
      condition: { columns: [], consecutive_windows: 3 },
      windows: [
        { columns: [{ column: 'a', flags: ['missing'] }] },
        { columns: [{ column: 'a' }, { column: 'b', flags: ['out_of_range'] }] },
        { columns: [{ column: 'b' }] },
      ],
    });
    // A check not watched never fires.
    expect(qualityFirings('m', rule({ checks: ['unseen', 'new_column'] }), windows)).toEqual([]);
  });

  it('keeps versions apart', () => {
    const windows = [window(0, { a: ['missing'] }, '1'), window(1, { a: ['missing'] }, '2')];
    expect(qualityFirings('m', rule({ consecutive_windows: 2 }), windows)).toEqual([]);
  });

  it('is validated field by field', () => {
    for (const bad of [
      { quality: { checks: ['nulls'] } },
      { quality: { columns: [] } },
      { quality: { consecutive_windows: 0 } },
      { quality: { consecutive_windows: 1.5 } },
      { quality: { column: ['a'] } },
      {},
    ]) {
      expect(retrainPolicySchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(retrainPolicySchema.safeParse({ quality: {} }).success).toBe(true);
  });
});
