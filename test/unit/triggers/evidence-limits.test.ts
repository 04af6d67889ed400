import { describe, expect, it } from 'vitest';
import type {
  StoredDriftWindow,
  StoredQualityWindow,
  StoredSegmentWindow,
} from '../../../src/drift/index.js';
import { driftFirings } from '../../../src/triggers/engine/drift-rule.js';
import {
  MAX_EVIDENCE_COLUMNS,
  MAX_EVIDENCE_SEGMENTS,
  MAX_EVIDENCE_WINDOWS,
} from '../../../src/triggers/engine/evidence-limits.js';
import {
  retrainPolicySchema,
  retrainRules,
  type RetrainPolicy,
} from '../../../src/triggers/engine/policy.js';
import { qualityFirings } from '../../../src/triggers/engine/quality-rule.js';
import { segmentFirings } from '../../../src/triggers/engine/segment-rule.js';
import { toPayload, type Firing } from '../../../src/triggers/engine/trigger.js';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** The broker's default `max.message.bytes` (1 MiB + 12 bytes of framing). */
const BROKER_DEFAULT = 1_048_588;

/** 1000 columns, all drifted; 256-character names, the most the policy takes. */
const NAMES = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(4, '0')}${'c'.repeat(252)}`);
const DRIFTED = NAMES.map((column) => ({
  column,
  role: 'feature' as const,
  kind: 'numerical' as const,
  method: 'ks' as const,
  statistic: 0.123456789012345,
  p_value: 1.2345678901234e-10,
  threshold: 0.05,
  drifted: true,
  count: 123_456,
}));
const FLAGGED = NAMES.map((column) => ({
  column,
  status: 'reference' as const,
  value_type: 'number' as const,
  kind: 'numerical' as const,
  values: 90,
  missing_rate: 0.123456789012345,
  wrong_type_share: 0.123456789012345,
  unseen_share: 0.123456789012345,
  top_unseen: [],
  out_of_range_share: 0.123456789012345,
  flags: [
    'missing',
    'wrong_type',
    'unseen',
    'out_of_range',
  ] as StoredQualityWindow['columns'][number]['flags'],
  flagged: true,
}));

const span = (h: number) => ({ start: iso(h * HOUR), end: iso((h + 1) * HOUR) });

function driftWindow(h: number): StoredDriftWindow {
  return {
    model_id: 'm',
    version: '1',
    ...span(h),
    count: 123_456,
    drift_share: 1,
    dataset_drift: true,
    columns: DRIFTED,
    reference_revision: 1,
    evaluated_at: iso(0),
  };
}

function segmentWindow(h: number, value: string, predictions: number): StoredSegmentWindow {
  const { start, end } = span(h);
  return {
    model_id: 'm',
    version: '1',
    segmentation: 'feature:region',
    start,
    end,
    value,
    other: false,
    predictions,
    reference: 'segment',
    reference_revision: 1,
    drift: { start, end, count: predictions, drift_share: 1, dataset_drift: true, columns: DRIFTED },
    quality: { start, end, count: predictions, flagged_columns: FLAGGED.length, columns: FLAGGED },
  };
}

const messageBytes = (f: Firing, policy: RetrainPolicy) =>
  Buffer.byteLength(JSON.stringify(toPayload(f, policy, 0)));

describe('the evidence of a firing', () => {
  it('lists at most a few columns a window and the latest windows of a run, counting the rest (1000 drifted columns, a run of 1000)', () => {
    // The last two columns are named: they are listed before the ones dataset drift brought in.
    const named = NAMES.slice(-2);
    const policy = { drift: { dataset_drift: true, columns: named, consecutive_windows: 1000 } };
    const windows = Array.from({ length: 1000 }, (_, h) => driftWindow(h));
    const [firing, ...more] = driftFirings('m', retrainRules(policy).drift!, windows);
    expect(more).toEqual([]);
    const evidence = firing!.evidence as {
      windows: { start: string; columns: { column: string }[]; columns_omitted: number }[];
      windows_omitted: number;
    };
    expect(evidence.windows.map((w) => w.start)).toEqual(
      Array.from({ length: MAX_EVIDENCE_WINDOWS }, (_, k) => span(1000 - MAX_EVIDENCE_WINDOWS + k).start),
    );
    expect(evidence.windows_omitted).toBe(1000 - MAX_EVIDENCE_WINDOWS);
    for (const w of evidence.windows) {
      expect(w.columns).toHaveLength(MAX_EVIDENCE_COLUMNS);
      expect(w.columns_omitted).toBe(1000 - MAX_EVIDENCE_COLUMNS);
      // In the stored order: the first columns, then the named ones.
      expect(w.columns.map((c) => c.column)).toEqual([...NAMES.slice(0, MAX_EVIDENCE_COLUMNS - 2), ...named]);
    }
    expect(messageBytes(firing!, policy)).toBeLessThan(100_000);
  });

  it('leaves out nothing, and says nothing about it, below the limits', () => {
    const policy = { drift: { columns: [NAMES[0]!], consecutive_windows: 2 } };
    const few = DRIFTED.slice(0, 3);
    const windows = [0, 1].map((h) => ({ ...driftWindow(h), columns: few }));
    const [firing] = driftFirings('m', retrainRules(policy).drift!, windows);
    expect(firing!.evidence).not.toHaveProperty('windows_omitted');
    const [w] = firing!.evidence['windows'] as Record<string, unknown>[];
    expect(w).not.toHaveProperty('columns_omitted');
    expect(w!['columns']).toEqual([expect.objectContaining({ column: NAMES[0] })]);
  });

  it('bounds quality evidence alike', () => {
    const policy = { quality: { consecutive_windows: 1000 } };
    const windows = Array.from({ length: 1000 }, (_, h) => ({
      model_id: 'm',
      version: '1',
      ...span(h),
      count: 90,
      flagged_columns: FLAGGED.length,
      columns: FLAGGED,
      reference_revision: 1,
    }));
    const [firing] = qualityFirings('m', retrainRules(policy).quality!, windows);
    expect(firing!.evidence).toMatchObject({ windows_omitted: 1000 - MAX_EVIDENCE_WINDOWS });
    const listed = firing!.evidence['windows'] as { columns: unknown[]; columns_omitted: number }[];
    expect(listed).toHaveLength(MAX_EVIDENCE_WINDOWS);
    expect(listed.every((w) => w.columns.length === MAX_EVIDENCE_COLUMNS)).toBe(true);
    expect(listed[0]!.columns_omitted).toBe(1000 - MAX_EVIDENCE_COLUMNS);
    expect(messageBytes(firing!, policy)).toBeLessThan(100_000);
  });

  it('lists the segments with the most predictions, and stays far below the broker limit at its worst', () => {
    // 50 values (max_segments at most) drifted and flagged in every column, for a run of 20 windows.
    const policy = retrainPolicySchema.parse({
      segments: [
        {
          segment: 'feature:region',
          drift: { dataset_drift: true, consecutive_windows: 20 },
          quality: { consecutive_windows: 20 },
        },
      ],
    });
    const values = Array.from({ length: 50 }, (_, i) => `v${String(i).padStart(2, '0')}`);
    const windows = values.flatMap((value, i) =>
      Array.from({ length: 20 }, (_, h) => segmentWindow(h, value, 1_000 + i)),
    );
    const [rule] = retrainRules(policy).segments!;
    const [firing, ...more] = segmentFirings('m', rule!, windows);
    expect(more).toEqual([]);
    const evidence = firing!.evidence as {
      segments: { value: string; windows: unknown[]; windows_omitted: number }[];
      segments_omitted: number;
    };
    expect(evidence.segments.map((s) => s.value).sort()).toEqual(values.slice(-MAX_EVIDENCE_SEGMENTS));
    expect(evidence.segments_omitted).toBe(50 - MAX_EVIDENCE_SEGMENTS);
    for (const s of evidence.segments) {
      expect(s.windows).toHaveLength(MAX_EVIDENCE_WINDOWS);
      expect(s.windows_omitted).toBe(20 - MAX_EVIDENCE_WINDOWS);
    }
    // 256-character column names everywhere: the largest evidence the limits allow.
    expect(messageBytes(firing!, policy)).toBeLessThan(BROKER_DEFAULT / 2);
  });
});
