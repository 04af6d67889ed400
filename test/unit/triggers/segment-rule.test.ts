import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StoredSegmentWindow } from '../../../src/drift/index.js';
import { segmentLabel } from '../../../src/drift/index.js';
import { segmentSettings, segmentsPolicySchema } from '../../../src/segments/index.js';
import { lossChangeFiring } from '../../../src/triggers/engine/loss-change-rule.js';
import { retrainPolicySchema, retrainRules } from '../../../src/triggers/engine/policy.js';
import { segmentFirings } from '../../../src/triggers/engine/segment-rule.js';
import { triggerId } from '../../../src/triggers/engine/trigger.js';

const DAY = 86_400_000;

/** One segment's stored window on day `day`: `drifted` columns and quality `flags`. */
function window(
  day: number,
  value: string | null,
  opts: { other?: boolean; drifted?: string[]; flags?: Record<string, string[]>; segmentation?: string } = {},
): StoredSegmentWindow {
  const start = new Date(day * DAY).toISOString();
  const end = new Date((day + 1) * DAY).toISOString();
  const columns = ['x', 'y'].map((column) => ({
    column,
    role: 'feature' as const,
    kind: 'numerical' as const,
    method: 'ks' as const,
    statistic: 0.5,
    p_value: opts.drifted?.includes(column) ? 0 : 0.5,
    threshold: 0.05,
    drifted: opts.drifted?.includes(column) ?? false,
    count: 100,
  }));
  const quality = Object.entries(opts.flags ?? {}).map(([column, flags]) => ({
    column,
    status: 'reference' as const,
    value_type: 'number' as const,
    kind: 'numerical' as const,
    values: 90,
    missing_rate: 0.1,
    wrong_type_share: 0,
    unseen_share: null,
    top_unseen: [],
    out_of_range_share: 0,
    flags: flags as StoredSegmentWindow['quality']['columns'][number]['flags'],
    flagged: flags.length > 0,
  }));
  return {
    model_id: 'm',
    version: '1',
    segmentation: opts.segmentation ?? 'feature:region',
    start,
    end,
    value,
    other: opts.other ?? false,
    predictions: 100,
    reference: 'segment',
    reference_revision: 1,
    drift: {
      start,
      end,
      count: 100,
      drift_share: 0,
      dataset_drift: false,
      columns,
    },
    quality: {
      start,
      end,
      count: 100,
      flagged_columns: quality.filter((q) => q.flagged).length,
      columns: quality,
    },
  };
}

function rules(retrain: Record<string, unknown>) {
  return retrainRules(retrainPolicySchema.parse(retrain));
}

describe('the retrain segment condition', () => {
  it('fires once per window when any segment breaches, naming each segment that did', () => {
    const [rule] = rules({
      segments: [{ segment: 'feature:region', drift: { columns: ['x'] }, quality: { checks: ['missing'] } }],
    }).segments!;
    const firings = segmentFirings('m', rule!, [
      window(0, 'north'),
      window(0, 'west'),
      window(1, 'north', { drifted: ['x'] }),
      window(1, 'west', { flags: { y: ['missing'] } }),
      window(1, 'south', { drifted: ['y'], flags: { y: ['unseen'] } }),
    ]);
    expect(firings).toHaveLength(1);
    expect(firings[0]).toMatchObject({ reason: 'segment', key: 'feature:region', start: DAY, end: 2 * DAY });
    const segments = (firings[0]!.evidence['segments'] as { segment: string }[]).map((s) => s.segment);
    expect(segments.sort()).toEqual(['feature:region=north', 'feature:region=west']);
  });

  it("names its condition in the policy's field names, as the drift and quality triggers do", () => {
    // Regression: the published evidence held the engine's own names (consecutiveWindows, datasetDrift).
    const [rule] = rules({
      segments: [{ segment: 'feature:region', drift: { columns: ['x'] }, quality: { checks: ['missing'] } }],
    }).segments!;
    const [firing] = segmentFirings('m', rule!, [window(1, 'north', { drifted: ['x'] })]);
    expect(firing!.evidence['condition']).toEqual({
      segment: 'feature:region',
      drift: { dataset_drift: false, columns: ['x'], consecutive_windows: 1 },
      quality: { columns: [], checks: ['missing'], consecutive_windows: 1 },
    });
  });

  it('counts consecutive windows per segment; a value that falls into other breaks its run', () => {
    const [rule] = rules({
      segments: [{ segment: 'feature:region', drift: { columns: ['x'], consecutive_windows: 2 } }],
    }).segments!;
    const north = (day: number) => window(day, 'north', { drifted: ['x'] });
    expect(segmentFirings('m', rule!, [north(0), north(1), north(2)]).map((f) => f.start)).toEqual([
      DAY,
      2 * DAY,
    ]);
    // Day 1: north was part of other (drifted there too, but that is another segment).
    expect(
      segmentFirings('m', rule!, [north(0), window(1, null, { other: true, drifted: ['x'] }), north(2)]),
    ).toEqual([]);
    // Another segmentation's windows are not this rule's.
    expect(
      segmentFirings(
        'm',
        rule!,
        [0, 1].map((d) => window(d, 'web', { drifted: ['x'], segmentation: 'tag:channel' })),
      ),
    ).toEqual([]);
  });

  it('counts each condition in its own run with its own K', () => {
    const [both3] = rules({
      segments: [
        {
          segment: 'feature:region',
          drift: { columns: ['x'], consecutive_windows: 3 },
          quality: { checks: ['missing'], consecutive_windows: 3 },
        },
      ],
    }).segments!;
    const drifted = (day: number) => window(day, 'north', { drifted: ['x'] });
    const missing = (day: number) => window(day, 'north', { flags: { y: ['missing'] } });
    // Drift, quality, drift: neither condition held three windows in a row.
    expect(segmentFirings('m', both3!, [drifted(0), missing(1), drifted(2)])).toEqual([]);
    // A drift K of 3 beside quality's default K of 1: one drifted window is not enough.
    const [driftK3] = rules({
      segments: [
        {
          segment: 'feature:region',
          drift: { columns: ['x'], consecutive_windows: 3 },
          quality: { checks: ['missing'] },
        },
      ],
    }).segments!;
    expect(segmentFirings('m', driftK3!, [drifted(0)])).toEqual([]);
    expect(segmentFirings('m', driftK3!, [drifted(0), drifted(1), drifted(2)]).map((f) => f.start)).toEqual([
      2 * DAY,
    ]);
    // Quality (K 1) fires on its own, its evidence the one flagged window.
    const quality = segmentFirings('m', driftK3!, [drifted(0), missing(1)]);
    expect(quality.map((f) => f.start)).toEqual([DAY]);
    const [segment] = quality[0]!.evidence['segments'] as { windows: Record<string, unknown>[] }[];
    expect(segment!.windows).toHaveLength(1);
    expect(segment!.windows[0]).toMatchObject({ start: new Date(DAY).toISOString(), predictions: 100 });
    expect(segment!.windows[0]).toHaveProperty('quality');
    expect(segment!.windows[0]).not.toHaveProperty('drift');
  });

  it('merges the evidence by window where both conditions end a run in the same window', () => {
    const [rule] = rules({
      segments: [
        {
          segment: 'feature:region',
          drift: { columns: ['x'], consecutive_windows: 2 },
          quality: { checks: ['missing'], consecutive_windows: 1 },
        },
      ],
    }).segments!;
    const firings = segmentFirings('m', rule!, [
      window(0, 'north', { drifted: ['x'] }),
      window(1, 'north', { drifted: ['x'], flags: { y: ['missing'] } }),
    ]);
    expect(firings.map((f) => f.start)).toEqual([DAY]);
    const [segment] = firings[0]!.evidence['segments'] as { windows: Record<string, unknown>[] }[];
    expect(segment!.windows.map((w) => [w['start'], 'drift' in w, 'quality' in w])).toEqual([
      [new Date(0).toISOString(), true, false],
      [new Date(DAY).toISOString(), true, true],
    ]);
  });

  it('gives two segmentations of one window two trigger ids, and leaves the other reasons ids as they were', () => {
    const base = { modelId: 'm', version: '1', reason: 'segment' as const, start: DAY, end: 2 * DAY };
    expect(triggerId({ ...base, key: 'feature:region' })).not.toBe(
      triggerId({ ...base, key: 'tag:channel' }),
    );
    expect(triggerId({ ...base, reason: 'drift' })).toBe(
      triggerId({ ...base, reason: 'drift', key: undefined }),
    );
    // The id drift triggers had before the key existed: UUIDv5 of the five-field name, computed here independently.
    const name = JSON.stringify(['m', '1', 'drift', new Date(0).toISOString(), new Date(DAY).toISOString()]);
    const hash = createHash('sha1')
      .update(Buffer.from('6d0f6a2e8b3c4f51a7d2c1e9b4f83a10', 'hex'))
      .update(name)
      .digest();
    hash[6] = (hash[6]! & 0x0f) | 0x50;
    hash[8] = (hash[8]! & 0x3f) | 0x80;
    const hex = hash.subarray(0, 16).toString('hex');
    expect(triggerId({ modelId: 'm', version: '1', reason: 'drift', start: 0, end: DAY })).toBe(
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    );
  });

  it('refuses a segmentation listed twice, naming the second entry', () => {
    const drift = { segment: 'feature:region', drift: { columns: ['x'] } };
    const quality = { segment: 'feature:region', quality: { checks: ['missing'] } };
    // Each entry fires the same window under the same trigger id: the stored trigger (one row per
    // id) kept one entry's evidence, and the other's breaches were never told.
    const [a, b] = [drift, quality].map(
      (entry) =>
        segmentFirings('m', rules({ segments: [entry] }).segments![0]!, [
          window(1, 'north', { drifted: ['x'] }),
          window(1, 'west', { flags: { y: ['missing'] } }),
        ])[0]!,
    );
    expect(triggerId(a!)).toBe(triggerId(b!));
    const twice = retrainPolicySchema.safeParse({
      segments: [drift, { segment: 'tag:channel', quality: {} }, quality],
    });
    expect(twice.success).toBe(false);
    expect(twice.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [
        ['segments', 2, 'segment'],
        "'feature:region' is listed already: give one entry both its drift and quality",
      ],
    ]);
    expect(
      retrainPolicySchema.safeParse({ segments: [{ ...drift, quality: quality.quality }] }).success,
    ).toBe(true);
  });

  it('refuses a bad segment or loss-change condition, naming the field', () => {
    const bad = (retrain: unknown) => retrainPolicySchema.safeParse(retrain).success;
    expect(bad({ segments: [{ segment: 'region', drift: { columns: ['x'] } }] })).toBe(false);
    expect(bad({ segments: [{ segment: 'feature:region' }] })).toBe(false);
    expect(bad({ segments: [{ segment: `feature:${'r'.repeat(300)}`, drift: { columns: ['x'] } }] })).toBe(
      false,
    );
    expect(bad({ segments: [] })).toBe(false);
    expect(bad({ loss_change: { history: '30s' } })).toBe(false);
    expect(bad({ loss_change: { history: '400d' } })).toBe(false);
    expect(bad({ loss_change: { label_delay: 'soon' } })).toBe(false);
    expect(bad({ loss_change: {} })).toBe(true);
    expect(rules({ loss_change: {} }).lossChange).toEqual({ historyMs: 7 * DAY, labelDelayMs: 0 });
    expect(rules({ segments: [{ segment: 'tag:channel', quality: {} }] }).segments![0]!.segmentation).toBe(
      'tag:channel',
    );
  });
});

describe('the retrain loss-change condition', () => {
  const rule = { historyMs: 7 * DAY, labelDelayMs: 0 };
  const report = (timestamps: number[]) => ({
    parameters: { threshold: 50 },
    values: 1000,
    mean_loss: 0.2,
    detections: timestamps.map((t, i) => ({
      index: i,
      timestamp: new Date(t).toISOString(),
      prediction_id: `p${i}`,
      mean_before: 0.1,
      mean_after: 0.5,
    })),
  });

  it('fires for a detection inside the window only', () => {
    const w = { start: DAY, end: 2 * DAY };
    expect(lossChangeFiring('m', '1', rule, w, report([DAY / 2, 2 * DAY]))).toBeUndefined();
    const firing = lossChangeFiring('m', '1', rule, w, report([DAY / 2, DAY, 2 * DAY - 1]))!;
    expect(firing).toMatchObject({ reason: 'loss_change', start: DAY, end: 2 * DAY });
    expect(
      (firing.evidence['detections'] as { prediction_id: string }[]).map((d) => d.prediction_id),
    ).toEqual(['p1', 'p2']);
  });
});

describe('segment gauges and declared segmentations', () => {
  it('labels values, other and none; cuts long values', () => {
    expect(segmentLabel('feature:region', { value: 'north', other: false })).toBe('feature:region=north');
    expect(segmentLabel('feature:region', { value: null, other: true })).toBe('feature:region!other');
    expect(segmentLabel('feature:region', { value: null, other: false })).toBe('feature:region!none');
    // 128 characters, then `…#` and 8 hex digits of the whole value's SHA-256.
    expect(segmentLabel('tag:t', { value: 'v'.repeat(1000), other: false })).toHaveLength(
      'tag:t='.length + 128 + 2 + 8,
    );
  });

  it('declares evaluate and evaluation_windows together, each once, at most 20', () => {
    const settings = segmentSettings(
      segmentsPolicySchema.parse({
        evaluate: ['tag:channel', 'feature:region'],
        evaluation_windows: { 'feature:region': '1d' },
      }),
    );
    expect(settings.declared).toEqual(['tag:channel', 'feature:region']);
    expect(segmentsPolicySchema.safeParse({ evaluate: ['region'] }).success).toBe(false);
    const many = Array.from({ length: 15 }, (_, i) => `tag:t${i}`);
    const windows = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`feature:f${i}`, '1d']));
    expect(segmentsPolicySchema.safeParse({ evaluate: many, evaluation_windows: windows }).success).toBe(
      false,
    );
    // A bad key among them is reported as itself, not thrown.
    expect(
      segmentsPolicySchema.safeParse({ evaluate: ['tag:a'], evaluation_windows: { bad: '1d' } }).success,
    ).toBe(false);
  });
});
