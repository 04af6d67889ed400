import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StoredDriftWindow } from '../../../src/drift/index.js';
import type { MetricsBucket } from '../../../src/metrics/index.js';
import { applyCooldown } from '../../../src/triggers/engine/cooldown.js';
import { driftFirings } from '../../../src/triggers/engine/drift-rule.js';
import { performanceFirings, type ReferenceValue } from '../../../src/triggers/engine/performance-rule.js';
import { retrainPolicySchema, retrainRules } from '../../../src/triggers/engine/policy.js';
import { triggerId, type Firing } from '../../../src/triggers/engine/trigger.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 2);
const iso = (ms: number) => new Date(ms).toISOString();

function window(
  h: number,
  drifted: string[],
  opts: { version?: string; datasetDrift?: boolean } = {},
): StoredDriftWindow {
  const columns = ['a', 'b', 'c'].map((column) => ({
    column,
    role: 'feature' as const,
    kind: 'numerical' as const,
    method: 'wasserstein' as const,
    statistic: drifted.includes(column) ? 0.5 : 0.01,
    p_value: null,
    threshold: 0.1,
    drifted: drifted.includes(column),
    count: 10,
  }));
  return {
    model_id: 'm',
    version: opts.version ?? '1',
    start: iso(T0 + h * HOUR),
    end: iso(T0 + (h + 1) * HOUR),
    count: 10,
    drift_share: drifted.length / 3,
    dataset_drift: opts.datasetDrift ?? false,
    columns,
    reference_revision: 7,
    evaluated_at: iso(T0),
  };
}

describe('the drift rule', () => {
  const rule = (k: number, columns: string[] = ['a'], datasetDrift = false) => ({
    consecutiveWindows: k,
    columns,
    datasetDrift,
  });

  it('fires at the K-th consecutive window where a named column drifted, with each window as evidence', () => {
    const windows = [
      window(0, []),
      window(1, ['a']),
      window(2, ['a', 'b']),
      window(3, ['a']),
      window(4, ['b']),
    ];
    const firings = driftFirings('m', rule(2), windows);
    expect(firings.map((f) => iso(f.start))).toEqual([iso(T0 + 2 * HOUR), iso(T0 + 3 * HOUR)]);
    const evidence = firings[0]!.evidence as {
      windows: { start: string; columns: { column: string; statistic: number }[] }[];
    };
    expect(evidence.windows.map((w) => w.start)).toEqual([iso(T0 + HOUR), iso(T0 + 2 * HOUR)]);
    // Only the named column is evidence, not the other drifted one.
    expect(evidence.windows[1]!.columns).toEqual([expect.objectContaining({ column: 'a', statistic: 0.5 })]);
  });

  it('a gap (a window without predictions) or a window without drift breaks the run', () => {
    expect(driftFirings('m', rule(2), [window(0, ['a']), window(2, ['a'])])).toEqual([]);
    expect(driftFirings('m', rule(2), [window(0, ['a']), window(1, []), window(2, ['a'])])).toEqual([]);
    expect(driftFirings('m', rule(1), [window(0, ['a']), window(2, ['a'])])).toHaveLength(2);
  });

  it('dataset drift fires with the drifted features as evidence; runs are per version', () => {
    const windows = [
      window(0, ['b', 'c'], { datasetDrift: true }),
      window(1, ['b', 'c'], { datasetDrift: true, version: '2' }),
      window(1, ['c'], { datasetDrift: true }),
    ];
    const firings = driftFirings('m', rule(2, [], true), windows);
    expect(firings.map((f) => [f.version, iso(f.start)])).toEqual([['1', iso(T0 + HOUR)]]);
    const evidence = firings[0]!.evidence as {
      windows: { dataset_drift: boolean; columns: { column: string }[] }[];
    };
    expect(evidence.windows.map((w) => w.columns.map((c) => c.column))).toEqual([['b', 'c'], ['c']]);
    expect(driftFirings('m', rule(2, [], true), [window(0, ['b', 'c']), window(1, ['b', 'c'])])).toEqual([]);
  });

  it('whatever the order the windows come in, the firings are the same', () => {
    fc.assert(
      fc.property(
        fc.array(fc.subarray(['a', 'b']), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (drifts, k, seed) => {
          const windows = drifts.map((d, h) => window(h, d));
          const shuffled = [...windows].sort(
            (x, y) => ((x.start.charCodeAt(12) * 31 + seed) % 7) - ((y.start.charCodeAt(12) * 31 + seed) % 7),
          );
          const ids = (ws: StoredDriftWindow[]) => driftFirings('m', rule(k), ws).map((f) => triggerId(f));
          expect(ids(shuffled).sort()).toEqual(ids(windows).sort());
          // A firing needs k drifted windows in a row ending at it.
          for (const f of driftFirings('m', rule(k), windows)) {
            const h = (f.start - T0) / HOUR;
            for (let j = h - k + 1; j <= h; j++) expect(drifts[j]).toContain('a');
          }
        },
      ),
    );
  });
});

function bucket(day: number, accuracy: number | null, labeled: number, version = '1'): MetricsBucket {
  return {
    start: iso(T0 + day * DAY),
    end: iso(T0 + (day + 1) * DAY),
    version,
    task: 'binary_classification',
    count: 300,
    throughput: 0,
    error_rate: 0,
    latency_ms: { p50: null, p95: null, p99: null, max: null },
    labeled,
    label_coverage: labeled / 300,
    accuracy,
    precision: null,
    recall: null,
    f1: null,
    roc_auc: null,
    positive_rate: null,
    macro_f1: null,
    mae: null,
    rmse: null,
    mape: null,
    r2: null,
  };
}

describe('the performance rule', () => {
  const rule = {
    metric: 'accuracy' as const,
    min: 0.8,
    maxDrop: 0.05,
    minLabeled: 200,
    labelDelayMs: 3 * DAY,
  };
  const reference = new Map<string, ReferenceValue>([
    ['1', { value: 0.9, period: { from: iso(T0 - DAY), to: iso(T0), revision: 1 } }],
  ]);

  it('judges a window only once label_delay has passed its end and min_labeled labels are in', () => {
    const buckets = [bucket(0, 0.5, 250)];
    const at = (watermark: number, b = buckets) =>
      performanceFirings({ modelId: 'm', rule, watermark, buckets: b, reference });
    expect(at(T0 + 4 * DAY - 1)).toEqual([]);
    expect(at(T0 + 4 * DAY)).toHaveLength(1);
    expect(at(T0 + 9 * DAY, [bucket(0, 0.5, 199)])).toEqual([]);
    expect(at(T0 + 9 * DAY, [bucket(0, null, 250)])).toEqual([]);
  });

  it('fires under min, or on a drop larger than max_drop from the reference value, and says which', () => {
    const fired = (accuracy: number, ref = reference) =>
      performanceFirings({
        modelId: 'm',
        rule,
        watermark: T0 + 9 * DAY,
        buckets: [bucket(0, accuracy, 250)],
        reference: ref,
      })[0]?.evidence;
    expect(fired(0.7)).toMatchObject({ value: 0.7, fired: ['min', 'max_drop'], reference_value: 0.9 });
    expect(fired(0.84)).toMatchObject({ fired: ['max_drop'] });
    expect(fired(0.86)).toBeUndefined();
    // A drop of exactly max_drop is not "more than" it, although 0.9 − 0.85 rounds to 0.050000000000000044.
    expect(0.9 - 0.85 > 0.05).toBe(true);
    expect(fired(0.85)).toBeUndefined();
    expect(fired(0.85 - 1e-9)).toMatchObject({ fired: ['max_drop'] });
    // Uploaded rows as the reference: only min applies, and the evidence says why.
    const rows = new Map<string, ReferenceValue>([
      ['1', { value: null, period: null, note: 'the drift reference holds uploaded rows' }],
    ]);
    expect(fired(0.84, rows)).toBeUndefined();
    expect(fired(0.7, rows)).toMatchObject({
      fired: ['min'],
      reference_value: null,
      drop: null,
      reference_note: 'the drift reference holds uploaded rows',
    });
  });
});

describe('the cooldown', () => {
  const firing = (
    day: number,
    reason: 'drift' | 'performance' = 'drift',
    version = '1',
  ): Firing & { triggerId: string } => {
    const f: Firing = {
      modelId: 'm',
      version,
      reason,
      start: T0 + day * DAY,
      end: T0 + (day + 1) * DAY,
      evidence: {},
    };
    return { ...f, triggerId: triggerId(f) };
  };

  it('keeps triggers of one reason at least the cooldown apart, oldest first, per reason', () => {
    const kept = applyCooldown(
      [firing(3), firing(0), firing(1), firing(7), firing(1, 'performance')],
      [],
      7 * DAY,
    );
    expect(kept.map((k) => [k.reason, (k.start - T0) / DAY])).toEqual([
      ['drift', 0],
      ['performance', 1],
      ['drift', 7],
    ]);
  });

  it('counts stored triggers, before and after, and keeps a stored one as it is', () => {
    const stored = [{ triggerId: firing(5).triggerId, reason: 'drift' as const, end: firing(5).end }];
    expect(
      applyCooldown([firing(2), firing(5), firing(9), firing(12)], stored, 7 * DAY).map(
        (k) => (k.start - T0) / DAY,
      ),
    ).toEqual([5, 12]);
    expect(applyCooldown([firing(1), firing(2)], [], 0)).toHaveLength(2);
  });

  it('keeps the same version of a window on every instance, whatever its locale', () => {
    // Regression: versions were ordered by localeCompare, which follows LANG: en-US puts 'a' before
    // 'B', da-DK puts 'aa' after 'b'. Code-unit order is the same everywhere ('B' < 'a' < 'aa' < 'b').
    const keep = (versions: string[]) =>
      applyCooldown(
        versions.map((v) => firing(1, 'drift', v)),
        [],
        7 * DAY,
      ).map((k) => k.version);
    expect(keep(['a', 'B'])).toEqual(['B']);
    expect(keep(['b', 'aa'])).toEqual(['aa']);
  });

  it('holds back a segment trigger only for the same segmentation', () => {
    const segment = (day: number, key: string) => {
      const f: Firing = { ...firing(day), reason: 'segment', key };
      return { ...f, triggerId: triggerId(f) };
    };
    const kept = applyCooldown(
      [segment(0, 'feature:region'), segment(0, 'tag:channel'), segment(2, 'tag:channel')],
      [],
      DAY * 7,
    );
    expect(kept.map((k) => [k.key, (k.start - T0) / DAY])).toEqual([
      ['feature:region', 0],
      ['tag:channel', 0],
    ]);
    // A stored trigger of one segmentation holds back only that one (the key as the store reads it).
    const stored = [
      { triggerId: 'x', reason: 'segment' as const, end: segment(1, 'a').end, key: 'tag:channel' },
    ];
    expect(
      applyCooldown([segment(2, 'feature:region'), segment(2, 'tag:channel')], stored, 7 * DAY).map(
        (k) => k.key,
      ),
    ).toEqual(['feature:region']);
  });
});

describe('trigger ids', () => {
  it('are UUIDv5 of model, version, reason and window: equal for the same firing, different otherwise', () => {
    const f = { modelId: 'm', version: '1', reason: 'drift' as const, start: T0, end: T0 + HOUR };
    expect(triggerId(f)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(triggerId({ ...f })).toBe(triggerId(f));
    const variants = [
      { modelId: 'm2' },
      { version: '2' },
      { reason: 'performance' as const },
      { start: T0 + 1 },
      { end: T0 + 2 * HOUR },
      { modelId: 'm', version: '1' },
    ];
    const ids = new Set(variants.map((v) => triggerId({ ...f, ...v })));
    expect(ids.size).toBe(6);
    // No separator ambiguity: ('a"', 'b') and ('a', '"b') differ.
    expect(triggerId({ ...f, modelId: 'a","b', version: 'c' })).not.toBe(
      triggerId({ ...f, modelId: 'a', version: 'b","c' }),
    );
  });
});

describe('the retrain policy schema', () => {
  it('accepts the SPEC 6 example and fills the defaults', () => {
    const spec = {
      drift: { dataset_drift: true, columns: ['Latitude'], consecutive_windows: 2 },
      performance: { metric: 'roc_auc', min: 0.8, max_drop: 0.05, min_labeled: 200, label_delay: '3d' },
      cooldown: '7d',
    };
    const parsed = retrainPolicySchema.parse(spec);
    expect(retrainRules(parsed)).toEqual({
      drift: { datasetDrift: true, columns: ['Latitude'], consecutiveWindows: 2 },
      performance: { metric: 'roc_auc', min: 0.8, maxDrop: 0.05, minLabeled: 200, labelDelayMs: 3 * DAY },
      cooldownMs: 7 * DAY,
    });
    expect(retrainRules(retrainPolicySchema.parse({ drift: { columns: ['a'] } }))).toEqual({
      drift: { datasetDrift: false, columns: ['a'], consecutiveWindows: 1 },
      performance: undefined,
      cooldownMs: 0,
    });
  });

  it('rejects hostile values with the field path', () => {
    const path = (policy: unknown) => {
      const r = retrainPolicySchema.safeParse(policy);
      return r.success ? 'ok' : r.error.issues.map((i) => i.path.join('.')).join(',');
    };
    expect(path({ drift: { columns: ['a'], consecutive_windows: -2 } })).toBe('drift.consecutive_windows');
    expect(path({ performance: { metric: 'accuracy', min: Number.NaN } })).toBe('performance.min');
    expect(path({ performance: { metric: 'accuracy', min: Number.POSITIVE_INFINITY } })).toBe(
      'performance.min',
    );
    expect(path({ performance: { metric: 'mae', min: 1 } })).toBe('performance.metric');
    expect(path({ drift: { columns: ['a'] }, cooldown: '9999999999d' })).toBe('cooldown');
    expect(path({ drift: { columns: ['a'] }, cooldown: '7 d' })).toBe('cooldown');
    // A label delay over a year would judge windows outside any stored time.
    const performance = { metric: 'accuracy', min: 0.5 };
    expect(path({ performance: { ...performance, label_delay: '9999999d' } })).toBe(
      'performance.label_delay',
    );
    expect(path({ performance: { ...performance, label_delay: '367d' } })).toBe('performance.label_delay');
    expect(path({ performance: { ...performance, label_delay: '366d' } })).toBe('ok');
    expect(path({ loss_change: { label_delay: '9999999d' } })).toBe('loss_change.label_delay');
    expect(path({ loss_change: { label_delay: '366d' } })).toBe('ok');
    expect(path({ drift: { columns: ['a'] }, extra: 1 })).toBe('');
  });
});
