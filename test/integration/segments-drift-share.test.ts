import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/change-detection/streams.js';
import type { DriftBucket } from '../../src/drift/index.js';
import { drift as driftCapability, readSegmentWindows } from '../../src/drift/index.js';
import { triggers } from '../../src/triggers/index.js';
import { produce, waitFor } from '../support/harness.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';
import { DAY, SHOP_T0 } from '../support/segments-data.js';
import { storeShopSegments } from '../support/shop-segments.js';
import { storedTriggers } from '../support/triggers.js';

/**
 * A feature segmentation's segments leave the segmenting feature out of their drift: inside a
 * value segment it is constant, so against the population reference it always drifted (every
 * value segment had dataset drift) and against the segment's own reference it never did (it
 * diluted the share of the columns that did).
 */
interface Segmented {
  buckets: DriftBucket[];
  segments: { value: string | null; other: boolean; reference: string; buckets: DriftBucket[] }[];
}

const features = (b: DriftBucket) => b.columns.filter((c) => c.role === 'feature').map((c) => c.column);
const figures = (b: DriftBucket) => [b.drift_share, b.dataset_drift];

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 1);

describe('the segmenting feature in segment drift', () => {
  it('a value segment without drift has drift share 0 against an uploaded (population) reference; no segment retrain', async () => {
    const service = await startTestService();
    const next = mulberry32(715);
    const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
    // Region north/south half and half, x the same normal in the reference and in the window.
    const rows = Array.from({ length: 400 }, (_, i) => ({ region: i % 2 ? 'north' : 'south', x: normal() }));
    const predictions = [
      ...Array.from({ length: 400 }, (_, i) => ({
        prediction_id: `f-${i}`,
        model_id: 'flat',
        model_version: '1',
        timestamp: T0 + i * 9_000,
        features: { region: i % 2 ? 'north' : 'south', x: normal() },
        prediction: 0,
      })),
      // Later predictions: the watermark passes the first hour's end.
      ...[0, 1].map((i) => ({
        prediction_id: `f-late-${i}`,
        model_id: 'flat',
        model_version: '1',
        timestamp: T0 + 5 * HOUR + i,
        features: { region: 'south', x: 0 },
        prediction: 0,
      })),
    ];
    await produce(service.config.topics.predictions, predictions, (i) => `f-${i}`);
    await waitFor('the predictions stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions FINAL');
      return Number(row?.n) === predictions.length ? true : undefined;
    });
    const policy = await send(service, 'PUT', '/api/v1/models/flat/policy', {
      drift: { thresholds: { ks: 0.001, chi2: 0.001 }, evaluation_window: '1h' },
      segments: { evaluate: ['feature:region'] },
      retrain: { segments: [{ segment: 'feature:region', drift: { dataset_drift: true } }] },
    });
    expect(policy.status, JSON.stringify(policy.body)).toBe(200);
    const reference = await send(service, 'PUT', '/api/v1/models/flat/versions/1/reference', { rows });
    expect(reference.status, JSON.stringify(reference.body)).toBe(200);

    const computed = await send(
      service,
      'GET',
      `/api/v1/models/flat/drift?from=${T0}&to=${T0 + HOUR}&bucket=1h&segment=feature:region`,
    );
    expect(computed.status, JSON.stringify(computed.body)).toBe(200);
    const c = computed.body as unknown as Segmented;
    // The population: region and x measured, neither drifted.
    expect(features(c.buckets[0]!)).toEqual(['region', 'x']);
    expect(figures(c.buckets[0]!)).toEqual([0, false]);
    expect(c.segments.map((s) => [s.value, s.reference])).toEqual([
      ['north', 'population'],
      ['south', 'population'],
    ]);
    for (const s of c.segments) {
      expect(figures(s.buckets[0]!), String(s.value)).toEqual([0, false]);
      expect(features(s.buckets[0]!), String(s.value)).toEqual(['x']);
    }

    // The stored windows (the segment loop) say the same, and the segment retrain condition does not fire.
    const stored = await waitFor('the first hour stored', async () => {
      await service.use(driftCapability).segmentEvaluator.runOnce();
      const w = await readSegmentWindows(service.platform.db, { modelId: 'flat', to: T0 + HOUR });
      return w.length === 2 ? w : undefined;
    });
    for (const w of stored) {
      expect(figures(w.drift), String(w.value)).toEqual([0, false]);
      expect(features(w.drift), String(w.value)).toEqual(['x']);
    }
    const fromStore = await send(
      service,
      'GET',
      `/api/v1/models/flat/drift?from=${T0}&to=${T0 + HOUR}&segment=feature:region&source=stored`,
    );
    expect(fromStore.status).toBe(200);
    const summary = (r: Segmented) =>
      r.segments.map((s) => [s.value, s.reference, s.buckets.map((b) => [...figures(b), features(b)])]);
    expect(summary(fromStore.body as unknown as Segmented)).toEqual(summary(c));
    const evaluator = service.use(triggers).evaluator;
    await evaluator.runOnce();
    await evaluator.runOnce();
    expect(await storedTriggers(service, 'flat')).toEqual([]);
  }, 180_000);

  it("a segment's own reference: x shifted, y unchanged is a share of 0.5 (dataset drift), stored and computed alike, and columns= recomputes it", async () => {
    const service = await startTestService();
    // The shop (segments-data.ts): on day 1 north's x moves, its y does not.
    const stored = await storeShopSegments(service);
    const day1 = `from=${SHOP_T0 + DAY}&to=${SHOP_T0 + 2 * DAY}&segment=feature:region`;
    const north = stored.find(
      (w) =>
        w.segmentation === 'feature:region' &&
        w.value === 'north' &&
        w.start === new Date(SHOP_T0 + DAY).toISOString(),
    )!;
    expect(north.reference).toBe('segment');
    expect(figures(north.drift)).toEqual([0.5, true]);
    expect(features(north.drift)).toEqual(['x', 'y']);

    const computed = await send(service, 'GET', `/api/v1/models/shop/drift?${day1}`);
    expect(computed.status).toBe(200);
    const c = computed.body as unknown as Segmented;
    const regions = (r: Segmented) => r.segments.map((s) => [s.value, s.other]);
    // The four largest regions, then the other regions (the isles) and the predictions without one.
    const segments = [
      ['south', false],
      ['east', false],
      ['west', false],
      ['north', false],
      [null, true],
      [null, false],
    ];
    expect(regions(c)).toEqual(segments);
    const northComputed = c.segments.find((s) => s.value === 'north')!;
    expect(figures(northComputed.buckets[0]!)).toEqual([0.5, true]);
    for (const s of c.segments.filter((x) => x.value !== 'north'))
      expect(figures(s.buckets[0]!), String(s.value)).toEqual([0, false]);

    // Stored and computed answers for one window and a column subset: the same shares.
    for (const columns of ['x', 'y', 'region', 'x,region,prediction']) {
      const answer = async (query: string) => {
        const r = await send(service, 'GET', `/api/v1/models/shop/drift?${query}`);
        expect(r.status, query).toBe(200);
        return (r.body as unknown as Segmented).segments.map((x) => [
          x.value,
          x.other,
          x.buckets.map((b) => [...figures(b), b.columns.map((col) => col.column)]),
        ]);
      };
      expect(await answer(`${day1}&source=stored&columns=${columns}`), columns).toEqual(
        await answer(`${day1}&columns=${columns}`),
      );
    }
    const onlyX = await send(service, 'GET', `/api/v1/models/shop/drift?${day1}&source=stored&columns=x`);
    expect(onlyX.status).toBe(200);
    const northX = (onlyX.body as unknown as Segmented).segments.find((s) => s.value === 'north')!;
    expect(figures(northX.buckets[0]!)).toEqual([1, true]);
    const onlyY = await send(service, 'GET', `/api/v1/models/shop/drift?${day1}&source=stored&columns=y`);
    expect(onlyY.status).toBe(200);
    const y = onlyY.body as unknown as Segmented;
    expect(regions(y)).toEqual(segments);
    for (const s of y.segments) expect(figures(s.buckets[0]!), String(s.value)).toEqual([0, false]);
  }, 300_000);
});
