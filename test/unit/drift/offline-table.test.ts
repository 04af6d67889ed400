import { describe, expect, it } from 'vitest';
import type { ColumnDrift } from '../../../src/drift/engine/types.js';
import type { OfflineDriftReport } from '../../../src/drift/offline/offline.js';
import { formatTable } from '../../../src/drift/offline/table.js';

const column = (name: string, over: Partial<ColumnDrift> = {}): ColumnDrift => ({
  column: name,
  role: 'feature',
  kind: 'categorical',
  method: 'chi2',
  statistic: 0.5,
  p_value: 0.5,
  threshold: 0.05,
  drifted: false,
  count: 3,
  ...over,
});

const report = (columns: ColumnDrift[]): OfflineDriftReport => ({
  model_id: 'offline',
  version: 'offline',
  reference: { source: 'rows', file: 'ref.csv', rows: 3 },
  current: { file: 'cur.csv', rows: 3 },
  buckets: [{ start: null, end: null, count: 3, drift_share: 0, dataset_drift: false, columns }],
});

describe('the offline table', () => {
  it('pads every column to its widest cell, drifted columns first', () => {
    const text = formatTable(
      report([column('a'), column('longer_name', { drifted: true, p_value: 0.001, statistic: 12 })]),
    );
    expect(text.split('\n').slice(3, 6)).toEqual([
      '         column       kind         method  statistic  p-value  threshold  values',
      '  DRIFT  longer_name  categorical  chi2    12         0.001    0.05       3',
      '         a            categorical  chi2    0.5        0.5      0.05       3',
    ]);
  });

  it('prints a file of 150,000 columns (Math.max(...) of one argument per column overflowed the stack)', () => {
    const columns = Array.from({ length: 150_000 }, (_, i) => column(`c${i}`));
    const lines = formatTable(report(columns)).trimEnd().split('\n');
    expect(lines).toHaveLength(4 + 150_000);
    expect(lines.at(-1)).toBe('    c99999   categorical  chi2    0.5        0.5      0.05       3');
  });
});
