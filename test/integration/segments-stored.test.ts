import { describe, expect, it } from 'vitest';
import { detectChanges } from '../../src/change-detection/page-hinkley.js';
import { mulberry32 } from '../../src/change-detection/streams.js';
import type { DriftBucket } from '../../src/drift/index.js';
import { drift as driftCapability, readSegmentWindows, segmentLabel } from '../../src/drift/index.js';
import { SegmentEvaluator } from '../../src/drift/segments/evaluator.js';
import { createSegmentGauges } from '../../src/drift/segments/gauges.js';
import { SegmentedAnalysis } from '../../src/drift/segments/segmented.js';
import { models } from '../../src/models/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { Registry } from 'prom-client';
import type { QualityBucket } from '../../src/drift/quality/types.js';
import { triggers } from '../../src/triggers/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import {
  DAY,
  laterEvents,
  SHOP_POLICY,
  SHOP_SEGMENT_LABELS,
  SHOP_T0,
  shopEvents,
  type ShopEvent,
} from '../support/segments-data.js';
import { readTopic, storedTriggers } from '../support/triggers.js';
import { send } from '../support/registry.js';

/**
 * Stored per-segment windows and the retrain conditions on them. `shop` (segments-data.ts): on
 * day 1 north's x moves (drift in one region) and a tenth of west's y goes missing (quality in
 * one region). `shop-clean`: day 0 of the same data, repeated as day 1 (nothing changes).
 * `flaky`/`steady`: one labeled prediction a minute; flaky's error rate jumps 0.1 → 0.5 at
 * minute 2000 (day 1), steady's stays 0.1.
 */
interface Segmented<B> {
  buckets: B[];
  segment: { by: string; max_segments: number; source?: string };
  segments: { value: string | null; other: boolean; predictions: number; reference: string; buckets: B[] }[];
}

const rounded = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    typeof v === 'number' ? Number(v.toPrecision(12)) : v,
  );
const drifted = (b: DriftBucket) =>
  b.columns.filter((c) => c.role === 'feature' && c.drifted).map((c) => c.column);
const flagged = (b: QualityBucket) =>
  Object.fromEntries(b.columns.filter((c) => c.flagged).map((c) => [c.column, c.flags]));

function cleanShop(day0: readonly ShopEvent[]): ShopEvent[] {
  return [0, 1].flatMap((day) =>
    day0.map((p) => ({
      ...p,
      prediction_id: `c-${day}-${p.prediction_id}`,
      model_id: 'shop-clean',
      timestamp: p.timestamp + day * DAY,
    })),
  );
}

const MINUTE = 60_000;
function lossStream(model: string, seed: number, errorRate: (i: number) => number) {
  const next = mulberry32(seed);
  const predictions: object[] = [];
  const labels: object[] = [];
  const losses: number[] = [];
  for (let i = 0; i < 3_000; i++) {
    const prediction = next() < 0.5 ? 1 : 0;
    const wrong = next() < errorRate(i) ? 1 : 0;
    const id = `${model}-${i}`;
    predictions.push({
      prediction_id: id,
      model_id: model,
      model_version: '1',
      timestamp: SHOP_T0 + i * MINUTE,
      features: { a: i % 7 },
      prediction,
      score: prediction === 1 ? 0.7 : 0.3,
    });
    labels.push({
      prediction_id: id,
      model_id: model,
      label: wrong ? 1 - prediction : prediction,
      timestamp: SHOP_T0 + i * MINUTE + 5,
    });
    losses.push(wrong);
  }
  return { predictions, labels, losses };
}

describe('stored segment windows and segment and loss-change retrain conditions', () => {
  it('stores each declared segmentation per window, answers from them, shows gauges, and fires once where the change is', async () => {
    const service = await startTestService();
    const { predictions } = shopEvents();
    const clean = cleanShop(predictions.filter((p) => p.timestamp < SHOP_T0 + DAY));
    const flaky = lossStream('flaky', 11, (i) => (i >= 2_000 ? 0.5 : 0.1));
    const steady = lossStream('steady', 8, () => 0.1);
    const all = [
      ...predictions,
      ...laterEvents('shop'),
      ...clean,
      ...laterEvents('shop-clean'),
      ...flaky.predictions,
      ...steady.predictions,
    ];
    await produce(service.config.topics.predictions, all, (i) => `p-${i}`);
    await produce(service.config.topics.labels, [...flaky.labels, ...steady.labels], (i) => `l-${i}`);
    await waitFor('the predictions and labels stored', async () => {
      const [p] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      const [l] = await service.rows<{ n: number }>('SELECT count() AS n FROM labels FINAL');
      return Number(p?.n) === all.length && Number(l?.n) === 6_000 ? true : undefined;
    });

    const segmentRule = {
      segment: 'feature:region',
      drift: { columns: ['x'] },
      quality: { checks: ['missing'] },
    };
    for (const model of ['shop', 'shop-clean']) {
      const policy = await send(service, 'PUT', `/api/v1/models/${model}/policy`, {
        ...SHOP_POLICY,
        retrain: { segments: [segmentRule] },
      });
      expect(policy.status, JSON.stringify(policy.body)).toBe(200);
      const reference = await send(service, 'PUT', `/api/v1/models/${model}/versions/1/reference`, {
        from: SHOP_T0,
        to: SHOP_T0 + DAY,
      });
      expect(reference.status).toBe(200);
    }
    for (const model of ['flaky', 'steady']) {
      const policy = await send(service, 'PUT', `/api/v1/models/${model}/policy`, {
        drift: { evaluation_window: '1d' },
        retrain: { loss_change: { history: '7d' } },
      });
      expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    }

    // The segment loop (the service's own may have run first: read what is stored).
    const segmentEvaluator = service.use(driftCapability).segmentEvaluator;
    await waitFor('both days of both segmentations stored', async () => {
      await segmentEvaluator.runOnce();
      const stored = await readSegmentWindows(service.platform.db, { modelId: 'shop' });
      const windows = new Set(stored.map((w) => `${w.segmentation} ${w.start}`));
      return windows.size === 4 ? stored : undefined;
    });
    const stored = await readSegmentWindows(service.platform.db, {
      modelId: 'shop',
      segmentation: 'feature:region',
    });
    const day1 = stored.filter((w) => w.start === new Date(SHOP_T0 + DAY).toISOString());
    // Four regions, then other (the isles), then the predictions without a region.
    expect(day1.map((w) => [w.value, w.other])).toEqual([
      ['east', false],
      ['north', false],
      ['south', false],
      ['west', false],
      [null, false],
      [null, true],
    ]);
    const at = (value: string) => day1.find((w) => w.value === value)!;
    expect(drifted(at('north').drift)).toEqual(['x']);
    expect(flagged(at('west').quality)).toEqual({ y: ['missing'] });
    for (const w of day1.filter((x) => x.value !== 'north'))
      expect(drifted(w.drift), String(w.value)).toEqual([]);
    for (const w of day1.filter((x) => x.value !== 'west'))
      expect(flagged(w.quality), String(w.value)).toEqual({});
    expect(at('north').reference).toBe('segment');
    // The no-region segment's stored quality leaves out the region column it lacks by definition.
    const none = day1.find((w) => w.value === null && !w.other)!;
    expect(none.quality.columns.map((col) => col.column).sort()).toEqual(['x', 'y']);

    // The routes answer from the stored windows; for one whole window they equal the computed answer.
    const range = `from=${SHOP_T0 + DAY}&to=${SHOP_T0 + 2 * DAY}&segment=feature:region`;
    const fromStore = await send(service, 'GET', `/api/v1/models/shop/drift?${range}&source=stored`);
    expect(fromStore.status, JSON.stringify(fromStore.body)).toBe(200);
    const computed = await send(service, 'GET', `/api/v1/models/shop/drift?${range}`);
    const s = fromStore.body as unknown as Segmented<DriftBucket>;
    const c = computed.body as unknown as Segmented<DriftBucket>;
    expect(s.segment).toEqual({ by: 'feature:region', max_segments: 4, source: 'stored' });
    expect(rounded(s.segments)).toEqual(rounded(c.segments));
    expect(rounded(s.buckets)).toEqual(rounded(c.buckets));
    const quality = await send(service, 'GET', `/api/v1/models/shop/quality?${range}&source=stored`);
    expect(quality.status).toBe(200);
    const q = quality.body as unknown as Segmented<QualityBucket>;
    expect(q.segments.map((x) => [x.value, Object.keys(flagged(x.buckets[0]!))])).toEqual([
      ['south', []],
      ['east', []],
      ['west', ['y']],
      ['north', []],
      [null, []],
      [null, []],
    ]);
    // Both days, one column: a segment's buckets are the windows it was a segment in.
    const both = await send(
      service,
      'GET',
      `/api/v1/models/shop/drift?from=${SHOP_T0}&to=${SHOP_T0 + 2 * DAY}&segment=feature:region&source=stored&columns=x`,
    );
    const b = both.body as unknown as Segmented<DriftBucket>;
    expect(b.segments.find((x) => x.value === 'north')!.buckets.map(drifted)).toEqual([[], ['x']]);
    expect(
      b.segments.every((x) => x.buckets.every((bk) => bk.columns.every((col) => col.column === 'x'))),
    ).toBe(true);
    const channel = await send(
      service,
      'GET',
      `/api/v1/models/shop/drift?from=${SHOP_T0}&to=${SHOP_T0 + 2 * DAY}&segment=tag:channel&source=stored`,
    );
    expect(
      (channel.body as unknown as Segmented<DriftBucket>).segments.map((x) => [x.value, x.buckets.length]),
    ).toEqual([
      ['web', 2],
      ['app', 2],
    ]);

    // Bad stored requests: a 400 naming the parameter.
    const bad = async (query: string, field: string) => {
      const r = await send(
        service,
        'GET',
        `/api/v1/models/shop/drift?from=${SHOP_T0}&to=${SHOP_T0 + DAY}&${query}`,
      );
      expect(r.status, query).toBe(400);
      expect(String(r.body['message']), query).toContain(field);
    };
    await bad('source=stored', 'querystring/source');
    await bad('source=stored&segment=feature:y', 'querystring/source');
    await bad('source=stored&segment=feature:region&bucket=1h', 'querystring/bucket');
    await bad('source=stored&segment=feature:region&method=psi', 'querystring/method');
    await bad('source=cached&segment=feature:region', 'source');
    for (const segments of [
      { evaluate: ['region'] },
      { evaluate: Array.from({ length: 21 }, (_, i) => `tag:t${i}`) },
    ]) {
      const r = await send(service, 'PUT', '/api/v1/models/shop/policy', { segments });
      expect(r.status, JSON.stringify(segments).slice(0, 60)).toBe(400);
      expect(String(r.body['message'])).toMatch(/segments/);
    }

    // Gauges: the latest stored window of each segment, a bounded label set.
    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    const series = [
      ...metrics.matchAll(/^modelwatch_segment_drift_share\{model="shop",segment="([^"]+)"\} (\S+)$/gm),
    ];
    expect(series.map((m) => m[1]).sort()).toEqual(SHOP_SEGMENT_LABELS);
    expect(Number(series.find((m) => m[1] === 'feature:region=north')![2])).toBeCloseTo(
      at('north').drift.drift_share,
      12,
    );
    expect(metrics).toContain(
      'modelwatch_segment_quality_flagged_columns{model="shop",segment="feature:region=west"} 1',
    );

    // After a restart: a new loop's gauges show the stored latest windows before it stores anything new.
    const cap = service.use(driftCapability);
    const logger = createLogger('silent', 'test');
    const registry = new Registry();
    const restarted = new SegmentEvaluator({
      db: service.platform.db,
      drift: cap.service,
      segmented: new SegmentedAnalysis({
        db: service.platform.db,
        models: service.use(models).registry,
        policies: cap.policies,
        logger,
        limits: cap.service.limits,
        drift: cap.service,
        quality: cap.quality,
      }),
      models: service.use(models).registry,
      policies: cap.policies,
      gauges: createSegmentGauges(registry),
      logger,
    });
    expect(await restarted.runOnce()).toEqual([]);
    const restored = [
      ...(await registry.metrics()).matchAll(
        /^modelwatch_segment_predictions\{model="shop",segment="([^"]+)"\} (\d+)$/gm,
      ),
    ];
    const channelLatest = await readSegmentWindows(service.platform.db, {
      modelId: 'shop',
      segmentation: 'tag:channel',
      limit: 1,
    });
    const expectedSeries = new Map<string, number>([
      ...day1.map((w): [string, number] => [segmentLabel('feature:region', w), w.predictions]),
      ...channelLatest.map((w): [string, number] => [segmentLabel('tag:channel', w), w.predictions]),
    ]);
    expect(expectedSeries.size).toBe(8);
    expect(new Map(restored.map((m): [string, number] => [m[1]!, Number(m[2])]))).toEqual(expectedSeries);

    // Retrain: the segment condition fires once, for day 1, naming north (drift) and west (quality); not for the clean model.
    await waitFor('the clean model stored', async () => {
      await segmentEvaluator.runOnce();
      const w = await readSegmentWindows(service.platform.db, {
        modelId: 'shop-clean',
        segmentation: 'feature:region',
      });
      return new Set(w.map((x) => x.start)).size === 2 ? true : undefined;
    });
    const evaluator = service.use(triggers).evaluator;
    await evaluator.runOnce();
    await evaluator.runOnce();
    const shopTriggers = await storedTriggers(service, 'shop');
    expect(shopTriggers.map((t) => [t.reason, t.window.start])).toEqual([
      ['segment', new Date(SHOP_T0 + DAY).toISOString()],
    ]);
    const evidence = shopTriggers[0]!.evidence as { segmentation: string; segments: { segment: string }[] };
    expect(evidence.segmentation).toBe('feature:region');
    expect(evidence.segments.map((x) => x.segment).sort()).toEqual([
      'feature:region=north',
      'feature:region=west',
    ]);
    expect(await storedTriggers(service, 'shop-clean')).toEqual([]);

    // Loss change: flaky fires once, in the window holding the detector's detections; steady never.
    const expected = detectChanges(flaky.losses).map((i) => Math.floor((i * MINUTE) / DAY));
    expect(expected.length).toBeGreaterThan(0);
    expect(new Set(expected)).toEqual(new Set([1]));
    expect(detectChanges(steady.losses)).toEqual([]);
    const flakyTriggers = await storedTriggers(service, 'flaky');
    expect(flakyTriggers.map((t) => [t.reason, t.window.start])).toEqual([
      ['loss_change', new Date(SHOP_T0 + DAY).toISOString()],
    ]);
    const detections = (
      flakyTriggers[0]!.evidence as { detections: { index: number; prediction_id: string }[] }
    ).detections;
    expect(detections.map((d) => d.prediction_id)).toEqual(
      detectChanges(flaky.losses).map((i) => `flaky-${i}`),
    );
    expect(await storedTriggers(service, 'steady')).toEqual([]);

    // On the retrain topic, once each, as stored.
    const ids = [...shopTriggers, ...flakyTriggers].map((t) => t.trigger_id).sort();
    const published = await waitFor('the triggers published', async () => {
      const messages = (await readTopic(service.config.topics.retrain)).filter((m) =>
        ['shop', 'shop-clean', 'flaky', 'steady'].includes(String(m.value['model_id'])),
      );
      return messages.length >= ids.length ? messages : undefined;
    });
    expect(published.map((m) => String(m.value['trigger_id'])).sort()).toEqual(ids);
    for (const m of published) expect(m.key).toBe(m.value['model_id']);

    // A hostile retrain segment condition is a 400 naming the field.
    for (const retrain of [
      { segments: [{ segment: 'region', drift: { columns: ['x'] } }] },
      { segments: [{ segment: 'feature:region' }] },
      { segments: [] },
      { loss_change: { history: '0s' } },
      { loss_change: { history: '9999d' } },
      { loss_change: { window: '1d' } },
    ]) {
      const r = await send(service, 'PUT', '/api/v1/models/shop/policy', { retrain });
      expect(r.status, JSON.stringify(retrain)).toBe(400);
      expect(String(r.body['message'])).toMatch(/retrain/);
    }
  }, 400_000);
});
