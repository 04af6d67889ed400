import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ColumnDrift, DriftBucket } from '../../../src/drift/engine/types.js';
import { createQualityGauges } from '../../../src/drift/quality/gauges.js';
import type { ColumnQuality, QualityBucket } from '../../../src/drift/quality/types.js';
import { createSegmentGauges } from '../../../src/drift/segments/gauges.js';
import type { StoredSegmentWindow } from '../../../src/drift/segments/store.js';
import { createDriftGauges } from '../../../src/drift/service/gauges.js';

// SPEC 10's drift labels have no version: two versions taking traffic (canary, A/B) have windows
// with the same end, and the evaluator shows them in version order. The drifted one must not be hidden.

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value;
}

function column(over: Partial<ColumnDrift>): ColumnDrift {
  return {
    column: 'age',
    role: 'feature',
    kind: 'numerical',
    method: 'ks',
    statistic: 0.01,
    p_value: 0.9,
    threshold: 0.05,
    drifted: false,
    count: 100,
    ...over,
  };
}

function driftWindow(end: string, drifted: boolean, over: Partial<ColumnDrift> = {}): DriftBucket {
  return {
    start: '2026-01-01T00:00:00.000Z',
    end,
    count: 100,
    drift_share: drifted ? 1 : 0,
    dataset_drift: drifted,
    columns: [column(drifted ? { statistic: 0.4, p_value: 0.001, drifted: true, ...over } : over)],
  };
}

const END = '2026-01-01T01:00:00.000Z';
const LATER = '2026-01-01T02:00:00.000Z';

describe('drift gauges over versions', () => {
  it('keep dataset_drift 1 when version 3 drifted and version 4, shown after it with the same window end, did not', async () => {
    const registry = new Registry();
    const gauges = createDriftGauges(registry);
    gauges.show({ modelId: 'credit', version: '3' }, driftWindow(END, true));
    gauges.show({ modelId: 'credit', version: '4' }, driftWindow(END, false));
    const model = { model: 'credit' };
    const age = { model: 'credit', column: 'age', method: 'ks' };
    expect(await value(registry, 'modelwatch_dataset_drift', model)).toBe(1);
    expect(await value(registry, 'modelwatch_drift_share', model)).toBe(1);
    expect(await value(registry, 'modelwatch_drift_statistic', age)).toBe(0.4);
    expect(await value(registry, 'modelwatch_drift_p_value', age)).toBe(0.001);
  });

  it('keep the drifted version whichever order the versions come in', async () => {
    const registry = new Registry();
    const gauges = createDriftGauges(registry);
    gauges.show({ modelId: 'credit', version: '4' }, driftWindow(END, false));
    gauges.show({ modelId: 'credit', version: '3' }, driftWindow(END, true));
    expect(await value(registry, 'modelwatch_dataset_drift', { model: 'credit' })).toBe(1);
  });

  it('replace a version’s window by its own newer one, and drop a version whose newest window is older', async () => {
    const registry = new Registry();
    const gauges = createDriftGauges(registry);
    gauges.show({ modelId: 'credit', version: '3' }, driftWindow(END, true));
    gauges.show({ modelId: 'credit', version: '4' }, driftWindow(END, false));
    // Version 3's drift is over in its next window: the model no longer shows it.
    gauges.show({ modelId: 'credit', version: '3' }, driftWindow(LATER, false));
    expect(await value(registry, 'modelwatch_dataset_drift', { model: 'credit' })).toBe(0);
    // An older window (a restore racing the loop) changes nothing.
    gauges.show({ modelId: 'credit', version: '4' }, driftWindow(END, true));
    expect(await value(registry, 'modelwatch_dataset_drift', { model: 'credit' })).toBe(0);
    expect(await value(registry, 'modelwatch_drift_window_end_seconds', { model: 'credit' })).toBe(
      Date.parse(LATER) / 1000,
    );
  });

  it('tell an evaluator which stored windows they do not show yet (another instance stored them)', () => {
    const gauges = createDriftGauges(new Registry());
    const v3 = { modelId: 'credit', version: '3' };
    const v4 = { modelId: 'credit', version: '4' };
    expect(gauges.shows(v3, Date.parse(END))).toBe(false);
    gauges.show(v3, driftWindow(END, true));
    expect(gauges.shows(v3, Date.parse(END))).toBe(true);
    // Version 4's window ending with the shown one is combined with it: not shown until offered.
    expect(gauges.shows(v4, Date.parse(END))).toBe(false);
    expect(gauges.shows(v3, Date.parse(LATER))).toBe(false);
    gauges.show(v4, driftWindow(LATER, false));
    // Version 3's older window would change nothing.
    expect(gauges.shows(v3, Date.parse(END))).toBe(true);
  });

  it('show chi2 with an unseen category as +Inf and a column without values not at all', async () => {
    const registry = new Registry();
    const gauges = createDriftGauges(registry);
    gauges.show(
      { modelId: 'm', version: '1' },
      driftWindow(END, false, { method: 'chi2', statistic: null, p_value: 0 }),
    );
    gauges.show(
      { modelId: 'm', version: '2' },
      driftWindow(END, false, { column: 'empty', statistic: null, p_value: null }),
    );
    expect(
      await value(registry, 'modelwatch_drift_statistic', { model: 'm', column: 'age', method: 'chi2' }),
    ).toBe(Number.POSITIVE_INFINITY);
    expect(
      await value(registry, 'modelwatch_drift_statistic', { model: 'm', column: 'empty' }),
    ).toBeUndefined();
  });
});

function qualityColumn(over: Partial<ColumnQuality>): ColumnQuality {
  return {
    column: 'age',
    status: 'reference',
    value_type: 'number',
    kind: 'numerical',
    values: 100,
    missing_rate: 0,
    wrong_type_share: 0,
    unseen_share: null,
    top_unseen: [],
    out_of_range_share: 0,
    flags: [],
    flagged: false,
    ...over,
  };
}

function qualityWindow(end: string, columns: ColumnQuality[]): QualityBucket {
  return {
    start: '2026-01-01T00:00:00.000Z',
    end,
    count: 100,
    flagged_columns: columns.filter((c) => c.flagged).length,
    columns,
  };
}

describe('data-quality gauges over versions', () => {
  it('keep version 3’s flagged column when version 4’s window with the same end is shown after it', async () => {
    const registry = new Registry();
    const gauges = createQualityGauges(registry);
    gauges.show(
      { modelId: 'credit', version: '3' },
      qualityWindow(END, [qualityColumn({ missing_rate: 0.6, flagged: true, flags: ['missing'] })]),
    );
    gauges.show({ modelId: 'credit', version: '4' }, qualityWindow(END, [qualityColumn({})]));
    const age = { model: 'credit', column: 'age' };
    expect(await value(registry, 'modelwatch_data_quality', { ...age, check: 'flagged' })).toBe(1);
    expect(await value(registry, 'modelwatch_data_quality', { ...age, check: 'missing_rate' })).toBe(0.6);
    gauges.show({ modelId: 'credit', version: '4' }, qualityWindow(LATER, [qualityColumn({})]));
    expect(await value(registry, 'modelwatch_data_quality', { ...age, check: 'flagged' })).toBe(0);
  });
});

function segmentWindow(version: string, drifted: boolean): StoredSegmentWindow {
  return {
    model_id: 'shop',
    version,
    segmentation: 'feature:region',
    start: '2026-01-01T00:00:00.000Z',
    end: END,
    value: 'north',
    other: false,
    predictions: 40,
    reference: 'segment',
    reference_revision: 1,
    drift: driftWindow(END, drifted),
    quality: qualityWindow(END, [qualityColumn({})]),
  };
}

describe('segment gauges over versions', () => {
  it('keep version 3’s drifted segment when version 4’s window of the same segment and end comes after it', async () => {
    const registry = new Registry();
    const gauges = createSegmentGauges(registry);
    gauges.show('shop', 'feature:region', [segmentWindow('3', true), segmentWindow('4', false)]);
    const north = { model: 'shop', segment: 'feature:region=north' };
    expect(await value(registry, 'modelwatch_segment_dataset_drift', north)).toBe(1);
    expect(await value(registry, 'modelwatch_segment_drift_share', north)).toBe(1);
    expect(await value(registry, 'modelwatch_segment_predictions', north)).toBe(80);
    // A later run with no new window for either version keeps both.
    gauges.show('shop', 'feature:region', []);
    expect(await value(registry, 'modelwatch_segment_dataset_drift', north)).toBe(1);
  });

  it('tell an evaluator which stored windows they do not show yet, per segmentation', () => {
    const gauges = createSegmentGauges(new Registry());
    const end = Date.parse(END);
    gauges.show('shop', 'feature:region', [segmentWindow('3', true)]);
    expect(gauges.shows('shop', 'feature:region', '3', end)).toBe(true);
    expect(gauges.shows('shop', 'feature:region', '4', end)).toBe(false);
    expect(gauges.shows('shop', 'tag:channel', '3', end)).toBe(false);
    // A segmentation taken out of the policy forgets its windows: declared again, they show again.
    gauges.keepOnly('shop', []);
    expect(gauges.shows('shop', 'feature:region', '3', end)).toBe(false);
  });

  it('drop the series of a segmentation taken out of the policy, and keep the others', async () => {
    const registry = new Registry();
    const gauges = createSegmentGauges(registry);
    const channel = { ...segmentWindow('3', false), segmentation: 'tag:channel', value: 'web' };
    gauges.show('shop', 'feature:region', [segmentWindow('3', true)]);
    gauges.show('shop', 'tag:channel', [channel]);
    gauges.show('bank', 'feature:region', [{ ...segmentWindow('3', true), model_id: 'bank' }]);
    gauges.keepOnly('shop', ['tag:channel']);
    expect(
      await value(registry, 'modelwatch_segment_predictions', {
        model: 'shop',
        segment: 'feature:region=north',
      }),
    ).toBeUndefined();
    expect(
      await value(registry, 'modelwatch_segment_predictions', { model: 'shop', segment: 'tag:channel=web' }),
    ).toBe(40);
    expect(
      await value(registry, 'modelwatch_segment_predictions', {
        model: 'bank',
        segment: 'feature:region=north',
      }),
    ).toBe(40);
    // Declared again later, its next window shows as new.
    gauges.show('shop', 'feature:region', [segmentWindow('3', false)]);
    expect(
      await value(registry, 'modelwatch_segment_dataset_drift', {
        model: 'shop',
        segment: 'feature:region=north',
      }),
    ).toBe(0);
  });
});
