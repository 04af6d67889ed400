import { describe, expect, it } from 'vitest';
import type { DriftBucket } from '../../src/drift/index.js';
import type { QualityBucket } from '../../src/drift/quality/types.js';
import { Registry } from 'prom-client';
import { drift as driftCapability } from '../../src/drift/index.js';
import { createQualityGauges } from '../../src/drift/quality/gauges.js';
import { restoreQualityGauges } from '../../src/drift/quality/restore.js';
import { readQualityWindows } from '../../src/drift/quality/store.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import { DAY, PER_DAY, SHOP_T0, shopEvents } from '../support/segments-data.js';
import { send } from '../support/registry.js';

interface Segmented<B> {
  buckets: B[];
  segment: { by: string; max_segments: number };
  segments: { value: string | null; other: boolean; predictions: number; reference: string; buckets: B[] }[];
}

const drifted = (b: DriftBucket) =>
  b.columns.filter((c) => c.role === 'feature' && c.drifted).map((c) => c.column);
const flagged = (b: QualityBucket) =>
  Object.fromEntries(b.columns.filter((c) => c.flagged).map((c) => [c.column, c.flags]));

/** Expected predictions per region value on day 1 (null: no region). */
function day1Counts(predictions: ReturnType<typeof shopEvents>['predictions']): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (const p of predictions.filter((e) => e.timestamp >= SHOP_T0 + DAY)) {
    const region = (p.features['region'] as string | undefined) ?? null;
    counts.set(region, (counts.get(region) ?? 0) + 1);
  }
  return counts;
}

describe('segments', () => {
  it('drift in one region is flagged for that segment only, quality per region, tags, and bad segment parameters', async () => {
    const service = await startTestService();
    const { predictions, labels } = shopEvents();
    await produce(service.config.topics.predictions, predictions, (i) => `s-${i}`);
    await waitFor('the predictions stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      return Number(row?.n) === predictions.length ? true : undefined;
    });
    // A strict KS threshold, so only a real shift is flagged; four regions before `other`.
    const policy = await send(service, 'PUT', '/api/v1/models/shop/policy', {
      drift: { thresholds: { ks: 0.001, chi2: 0.001 } },
      segments: { max_segments: 4 },
    });
    expect(policy.status).toBe(200);
    const reference = await send(service, 'PUT', '/api/v1/models/shop/versions/1/reference', {
      from: SHOP_T0,
      to: SHOP_T0 + DAY,
    });
    expect(reference.status).toBe(200);

    const day1 = `from=${SHOP_T0 + DAY}&to=${SHOP_T0 + 2 * DAY}&bucket=1d`;
    const drift = await send(service, 'GET', `/api/v1/models/shop/drift?${day1}&segment=feature:region`);
    expect(drift.status).toBe(200);
    const report = drift.body as unknown as Segmented<DriftBucket>;
    // The whole population: north's shift (6% of predictions) does not move x enough to flag it.
    expect(report.buckets).toHaveLength(1);
    expect(report.buckets[0]!.count).toBe(PER_DAY);
    expect(drifted(report.buckets[0]!)).toEqual([]);
    expect(report.segment).toEqual({ by: 'feature:region', max_segments: 4 });

    const counts = day1Counts(predictions);
    const top = [...counts]
      .filter(([v]) => v !== null)
      .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
      .slice(0, 4)
      .map(([v]) => v);
    expect(top).toEqual(['south', 'east', 'west', 'north']);
    const isles = ['isle-a', 'isle-b', 'isle-c'].reduce((s, v) => s + (counts.get(v) ?? 0), 0);
    expect(report.segments.map((s) => [s.value, s.other, s.predictions])).toEqual([
      ...top.map((v) => [v, false, counts.get(v)]),
      [null, true, isles],
      [null, false, counts.get(null)],
    ]);
    const byValue = (value: string) => report.segments.find((s) => s.value === value)!;
    // North alone: x drifted, nothing else, against north's own reference rows.
    expect(drifted(byValue('north').buckets[0]!)).toEqual(['x']);
    for (const region of ['south', 'east', 'west']) expect(drifted(byValue(region).buckets[0]!)).toEqual([]);
    // East is 2 higher all along: measured against its own reference rows, it has not drifted.
    expect(byValue('east').reference).toBe('segment');
    const eastX = byValue('east').buckets[0]!.columns.find((c) => c.column === 'x')!;
    expect(eastX.method).toBe('ks');
    expect(eastX.p_value).toBeGreaterThan(0.001);

    // Quality: a tenth of west's y is missing on day 1, 2.8% of the whole: flagged for west only.
    const quality = await send(service, 'GET', `/api/v1/models/shop/quality?${day1}&segment=feature:region`);
    expect(quality.status).toBe(200);
    const q = quality.body as unknown as Segmented<QualityBucket>;
    expect(flagged(q.buckets[0]!)).toEqual({});
    const west = q.segments.find((s) => s.value === 'west')!;
    expect(flagged(west.buckets[0]!)).toEqual({ y: ['missing'] });
    for (const s of q.segments.filter((s) => s.value !== 'west' && s.value !== null))
      expect(flagged(s.buckets[0]!)).toEqual({});
    // The region column is absent from the no-region segment, by definition.
    const none = q.segments.find((s) => s.value === null && !s.other)!;
    expect(none.buckets[0]!.columns.find((c) => c.column === 'region')!.missing_rate).toBe(1);

    // Quality gauges after a restart: each model's latest stored window (the evaluation loop's), read back.
    await service.use(driftCapability).evaluator.runOnce();
    const [latest] = await readQualityWindows(service.platform.db, { modelId: 'shop', limit: 1 });
    expect(latest).toBeDefined();
    const registry = new Registry();
    expect(await restoreQualityGauges(service.platform.db, createQualityGauges(registry))).toBe(1);
    const text = await registry.metrics();
    expect(latest!.columns.map((c) => c.column).sort()).toEqual(['region', 'x', 'y']);
    for (const c of latest!.columns) {
      expect(text).toContain(
        `modelwatch_data_quality{model="shop",column="${c.column}",check="missing_rate"} ${c.missing_rate}`,
      );
      expect(text).toContain(
        `modelwatch_data_quality{model="shop",column="${c.column}",check="flagged"} ${c.flagged ? 1 : 0}`,
      );
    }

    // A tag: the channel each prediction carried, counted exactly.
    const tags = await send(service, 'GET', `/api/v1/models/shop/drift?${day1}&segment=tag:channel`);
    expect(tags.status).toBe(200);
    const channels = new Map<string, number>();
    for (const p of predictions.filter((e) => e.timestamp >= SHOP_T0 + DAY))
      channels.set(p.tags['channel']!, (channels.get(p.tags['channel']!) ?? 0) + 1);
    expect(
      (tags.body as unknown as Segmented<DriftBucket>).segments.map((s) => [s.value, s.predictions]),
    ).toEqual([...channels].sort((a, b) => b[1] - a[1]));

    // A declared window: without a bucket, a region request gets the policy's 1d buckets.
    expect(
      (
        await send(service, 'PUT', '/api/v1/models/shop/policy', {
          segments: { max_segments: 4, evaluation_windows: { 'feature:region': '1d' } },
        })
      ).status,
    ).toBe(200);
    const declared = await send(
      service,
      'GET',
      `/api/v1/models/shop/drift?from=${SHOP_T0}&to=${SHOP_T0 + 2 * DAY}&segment=feature:region&columns=x`,
    );
    expect(declared.status).toBe(200);
    const d = declared.body as unknown as Segmented<DriftBucket>;
    expect(d.buckets.map((b) => b.start)).toEqual([
      new Date(SHOP_T0).toISOString(),
      new Date(SHOP_T0 + DAY).toISOString(),
    ]);
    expect(d.segments.find((s) => s.value === 'north')!.buckets.map(drifted)).toEqual([[], ['x']]);

    // Metrics per region: counts and accuracy equal the generated data's, segment by segment.
    await produce(service.config.topics.labels, labels, (i) => `l-${i}`);
    await waitFor('the labels stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM labels FINAL');
      return Number(row?.n) === labels.length ? true : undefined;
    });
    const metrics = await send(service, 'GET', `/api/v1/models/shop/metrics?${day1}&segment=feature:region`);
    expect(metrics.status).toBe(200);
    const m = metrics.body as unknown as {
      buckets: { count: number; accuracy: number | null }[];
      segments: {
        value: string | null;
        other: boolean;
        predictions: number;
        buckets: { count: number; labeled: number; accuracy: number | null }[];
      }[];
    };
    expect(m.buckets[0]!.count).toBe(PER_DAY);
    const label = new Map(labels.map((l) => [l.prediction_id, l.label]));
    const day1Predictions = predictions.filter((e) => e.timestamp >= SHOP_T0 + DAY);
    // Metrics use the default 10 segments: every region has its own.
    expect(m.segments.map((s) => s.value)).toEqual([
      ...[...counts]
        .filter(([v]) => v !== null)
        .sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])))
        .map(([v]) => v),
      null,
    ]);
    for (const s of m.segments) {
      const rows = day1Predictions.filter(
        (p) => ((p.features['region'] as string | undefined) ?? null) === s.value,
      );
      const right = rows.filter((p) => label.get(p.prediction_id) === p.prediction).length;
      expect(s.buckets[0]).toMatchObject({ count: rows.length, labeled: rows.length });
      expect(s.buckets[0]!.accuracy).toBeCloseTo(right / rows.length, 12);
    }
    expect((await send(service, 'GET', `/api/v1/models/shop/metrics?${day1}&segment=tag:nope`)).status).toBe(
      400,
    );
    expect(
      (await send(service, 'GET', `/api/v1/models/shop/metrics?${day1}&segment=${'x'.repeat(5000)}`)).status,
    ).toBe(400);

    // Hostile and wrong segment parameters: a 400 naming the parameter, nothing computed.
    const bad = async (segment: string) => {
      const r = await send(
        service,
        'GET',
        `/api/v1/models/shop/drift?${day1}&segment=${encodeURIComponent(segment)}`,
      );
      expect(r.status, segment.slice(0, 40)).toBe(400);
      return String(r.body['message']);
    };
    expect(await bad('feature:nope')).toMatch(
      /^querystring\/segment: 'nope' is not a feature of the reference/,
    );
    expect(await bad('feature:x')).toMatch(/^querystring\/segment: feature 'x' is numerical/);
    expect(await bad('tag:nope')).toMatch(/^querystring\/segment: no prediction .* has the tag 'nope'/);
    expect(await bad('region')).toMatch(
      /^querystring\/segment: 'region' is not feature:<name> or tag:<name>/,
    );
    expect(await bad('feature:')).toMatch(/^querystring\/segment: the feature name is empty/);
    expect(await bad('tag:a\u0001b')).toMatch(/control character/);
    expect(await bad(`feature:${'r'.repeat(100_000)}`)).toMatch(/querystring\/segment/);
    expect(await bad(`feature:${'é'.repeat(257)}`)).toMatch(/querystring\/segment/);
    const qualityBad = await send(service, 'GET', `/api/v1/models/shop/quality?${day1}&segment=feature:nope`);
    expect(qualityBad.status).toBe(400);
    // The policy section refuses what it cannot use, naming the field.
    for (const segments of [
      { max_segments: 0 },
      { max_segments: 1_000 },
      { max_segments: 2.5 },
      { evaluation_windows: { region: '1d' } },
      { evaluation_windows: { 'feature:region': '1y' } },
      { unknown: true },
    ]) {
      const r = await send(service, 'PUT', '/api/v1/models/shop/policy', { segments });
      expect(r.status, JSON.stringify(segments)).toBe(400);
      expect(String(r.body['message'])).toMatch(/segments/);
    }
  }, 300_000);
});
