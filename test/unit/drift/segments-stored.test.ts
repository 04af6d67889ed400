import { describe, expect, it } from 'vitest';
import type { ColumnDrift, DriftBucket } from '../../../src/drift/engine/types.js';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { createSegmentGauges, MAX_LABEL_VALUE, segmentLabel } from '../../../src/drift/segments/gauges.js';
import {
  driftColumns,
  storedBucket,
  storedDriftReference,
  storedQualityReference,
} from '../../../src/drift/segments/stored.js';
import { segmentsSchema } from '../../../src/drift/segments/schemas.js';
import type { StoredSegmentWindow } from '../../../src/drift/segments/store.js';
import { parseBucket } from '../../../src/platform/time/index.js';
import { SegmentError } from '../../../src/segments/index.js';

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

describe('the bucket of a stored answer', () => {
  const stored = (text: string) => parseBucket(text)!;

  it('is the stored one when the request writes the same bucket differently (same size and origin)', () => {
    expect(storedBucket('24h', stored('1d'))).toBe('1d');
    expect(storedBucket('1d', stored('24h'))).toBe('24h');
    expect(storedBucket('60m', stored('1h'))).toBe('1h');
    expect(storedBucket('1440m', stored('1d'))).toBe('1d');
    expect(storedBucket('month', stored('month'))).toBe('month');
    expect(storedBucket(undefined, stored('1d'))).toBe('1d');
  });

  it.each([
    ['2d', '1d'],
    ['1h', '1d'],
    // Seven days, but on the epoch grid where the week starts on Mondays.
    ['7d', '1w'],
    ['1w', '7d'],
    ['month', '30d'],
    ['30d', 'month'],
  ])('refuses %s against stored %s with a 400 naming the bucket', (requested, text) => {
    let error: unknown;
    try {
      storedBucket(requested, stored(text));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SegmentError);
    expect((error as SegmentError).message).toMatch(
      /^querystring\/bucket: the stored windows of this segmentation are/,
    );
  });
});

describe('the reference of a stored segment over its windows', () => {
  const at = (reference: StoredSegmentWindow['reference'], population_columns?: string[]) => ({
    ...window(),
    reference,
    ...(population_columns === undefined ? {} : { population_columns }),
  });

  it('is each window’s when they agree, else mixed with every column any window measured against the whole reference', () => {
    const all = storedDriftReference(undefined);
    expect(all([at('segment'), at('segment')])).toEqual({ reference: 'segment' });
    expect(all([at('population'), at('population')])).toEqual({ reference: 'population' });
    expect(all([at('mixed', ['y']), at('mixed', ['x', 'y'])])).toEqual({
      reference: 'mixed',
      population_columns: ['x', 'y'],
    });
    // A window measured against the whole reference: all its columns.
    expect(all([at('segment'), at('population')])).toEqual({
      reference: 'mixed',
      population_columns: ['prediction', 'w', 'x', 'y', 'z'],
    });
    // Only the answered columns count.
    expect(storedDriftReference(['x'])([at('mixed', ['y'])])).toEqual({ reference: 'segment' });
    expect(storedDriftReference(['x', 'y'])([at('mixed', ['y'])])).toEqual({
      reference: 'mixed',
      population_columns: ['y'],
    });
    // Quality takes the segment's own missing rates unless a window had no reference of its own.
    expect(storedQualityReference([at('mixed', ['y']), at('segment')])).toEqual({ reference: 'segment' });
    expect(storedQualityReference([at('mixed', ['y']), at('population')])).toEqual({
      reference: 'population',
    });
  });
});

describe('segment gauge labels', () => {
  const long = 'v'.repeat(MAX_LABEL_VALUE);
  const w = (value: string, predictions: number, share: number): StoredSegmentWindow => ({
    ...window(),
    segmentation: 'tag:t',
    value,
    predictions,
    drift: { ...window().drift, drift_share: share, dataset_drift: share >= 0.5, columns: [] },
  });

  it('keep values that share their first 128 characters apart: cut, then the hash of the whole value', async () => {
    const a = segmentLabel('tag:t', { value: `${long}A`, other: false });
    const b = segmentLabel('tag:t', { value: `${long}B`, other: false });
    expect(a).not.toBe(b);
    expect(a).toMatch(new RegExp(`^tag:t=${long}…#[0-9a-f]{8}$`));
    expect(segmentLabel('tag:t', { value: long, other: false })).toBe(`tag:t=${long}`);
    // Characters are code points: 128 emoji are kept whole, one more is cut after the 128th.
    const emoji = '😀'.repeat(MAX_LABEL_VALUE);
    expect(segmentLabel('tag:t', { value: emoji, other: false })).toBe(`tag:t=${emoji}`);
    expect(segmentLabel('tag:t', { value: `${emoji}é`, other: false })).toMatch(
      new RegExp(`^tag:t=${emoji}…#[0-9a-f]{8}$`, 'u'),
    );

    const registry = new Registry();
    createSegmentGauges(registry).show('m', 'tag:t', [w(`${long}A`, 10, 1), w(`${long}B`, 990, 0)]);
    const text = await registry.metrics();
    const series = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{model="m",segment="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [
        m[1],
        Number(m[2]),
      ]);
    expect(series('modelwatch_segment_predictions').sort()).toEqual(
      [
        [a, 10],
        [b, 990],
      ].sort(),
    );
    expect(series('modelwatch_segment_drift_share').sort()).toEqual(
      [
        [a, 1],
        [b, 0],
      ].sort(),
    );
  });
});

describe('the segments schema', () => {
  it('serializes a mixed reference with its population columns, and a note', async () => {
    const app = Fastify();
    const segment = {
      value: 'north',
      other: false,
      predictions: 150,
      reference: 'mixed',
      population_columns: ['c', 'y'],
      note: 'why',
      buckets: [],
    };
    app.get(
      '/x',
      {
        schema: {
          response: {
            200: { type: 'object', properties: { segments: segmentsSchema({ type: 'object' }) } },
          },
        },
      },
      () => Promise.resolve({ segments: [segment, { ...segment, reference: 'segment', note: undefined }] }),
    );
    const answer = await app.inject({ method: 'GET', url: '/x' });
    await app.close();
    const body = answer.json<{ segments: unknown[] }>();
    expect(body.segments[0]).toEqual(segment);
    expect(body.segments[1]).toEqual({ ...segment, reference: 'segment', note: undefined });
    expect(segmentsSchema({}).items.properties.reference.enum).toEqual(['segment', 'population', 'mixed']);
  });
});
