import { describe, expect, it } from 'vitest';
import type { ColumnDrift, DriftBucket } from '../../../src/drift/engine/types.js';
import { driftColumns } from '../../../src/drift/segments/stored.js';
import type { StoredSegmentWindow } from '../../../src/drift/segments/store.js';

const column = (name: string, role: ColumnDrift['role'], drifted: boolean, measured = true): ColumnDrift => ({
  column: name,
  role,
  kind: 'numerical',
  method: 'ks',
  statistic: measured ? (drifted ? 0.4 : 0.01) : null,
  p_value: measured ? (drifted ? 1e-9 : 0.6) : null,
  threshold: 0.05,
  drifted,
  count: measured ? 100 : 0,
});

/** A stored window in which z and the prediction drifted, x and y did not, w had no values. */
function window(): StoredSegmentWindow {
  const drift: DriftBucket = {
    start: '2026-06-02T00:00:00.000Z',
    end: '2026-06-03T00:00:00.000Z',
    count: 100,
    drift_share: 1 / 3,
    dataset_drift: false,
    columns: [
      column('w', 'feature', false, false),
      column('x', 'feature', false),
      column('y', 'feature', false),
      column('z', 'feature', true),
      column('prediction', 'prediction', true),
    ],
  };
  return {
    model_id: 'm',
    version: '1',
    segmentation: 'tag:channel',
    start: drift.start,
    end: drift.end,
    value: 'web',
    other: false,
    predictions: 100,
    reference: 'segment',
    reference_revision: 1,
    drift,
    quality: { start: drift.start, end: drift.end, count: 100, flagged_columns: 0, columns: [] },
  };
}

const figures = (b: DriftBucket) => [b.drift_share, b.dataset_drift, b.columns.map((c) => c.column)];

describe('stored segment windows with columns=', () => {
  it('recompute drift share and dataset drift over the kept features, as a computed answer does', () => {
    expect(figures(driftColumns(['x'], 0.5)(window()))).toEqual([0, false, ['x']]);
    expect(figures(driftColumns(['z'], 0.5)(window()))).toEqual([1, true, ['z']]);
    expect(figures(driftColumns(['x', 'z'], 0.5)(window()))).toEqual([0.5, true, ['x', 'z']]);
    expect(figures(driftColumns(['x', 'z'], 0.6)(window()))).toEqual([0.5, false, ['x', 'z']]);
    // Not measured (no values): not counted, as in a computed bucket.
    expect(figures(driftColumns(['w', 'z'], 0.5)(window()))).toEqual([1, true, ['w', 'z']]);
    // No feature kept: no share, whatever the prediction did.
    expect(figures(driftColumns(['prediction'], 0.5)(window()))).toEqual([0, false, ['prediction']]);
  });

  it('leave a window untouched without columns=', () => {
    const w = window();
    expect(driftColumns(undefined, 0.5)(w)).toBe(w.drift);
  });
});
