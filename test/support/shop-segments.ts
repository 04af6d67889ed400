/**
 * The shop's two days (segments-data.ts) through a running service with its segments declared:
 * the segment loop's stored windows (`segment_results`) and gauges, for the tests that prove the
 * drift dashboard's segment panels. On day 1 north drifts (x) and west misses y.
 */
import { drift, readSegmentWindows, type StoredSegmentWindow } from '../../src/drift/index.js';
import { produce, waitFor } from './harness.js';
import { DAY, laterEvents, SHOP_POLICY, SHOP_T0, shopEvents } from './segments-data.js';
import type { TestService } from './service.js';
import { put, waitForModel } from './triggers.js';

export const SHOP = 'shop';

/**
 * Both days of both segmentations stored, oldest first; the segment gauges show day 1 and the
 * drift gauges the population's day 1. `afterFirstDay` is awaited between the days' predictions
 * (a test that needs the shop's prediction counter seen to grow waits there for a scrape).
 */
export async function storeShopSegments(
  service: TestService,
  options: { afterFirstDay?: (sent: number) => Promise<unknown> } = {},
): Promise<StoredSegmentWindow[]> {
  const predictions = shopEvents().predictions;
  const firstDay = predictions.filter((p) => p.timestamp < SHOP_T0 + DAY);
  const rest = [...predictions.slice(firstDay.length), ...laterEvents(SHOP)];
  await produce(service.config.topics.predictions, firstDay, (i) => `shop-0-${i}`);
  await options.afterFirstDay?.(firstDay.length);
  await produce(service.config.topics.predictions, rest, (i) => `shop-1-${i}`);
  const total = firstDay.length + rest.length;
  await waitFor('the shop predictions stored', async () => {
    const [row] = await service.rows<{ n: number }>(
      `SELECT count() AS n FROM predictions FINAL WHERE model_id = '${SHOP}'`,
    );
    return Number(row?.n) === total ? true : undefined;
  });
  await waitForModel(service, SHOP);
  for (const [url, body] of [
    [`/api/v1/models/${SHOP}/policy`, SHOP_POLICY],
    [`/api/v1/models/${SHOP}/versions/1/reference`, { from: SHOP_T0, to: SHOP_T0 + DAY }],
  ] as const) {
    const response = await put(service, url, body);
    if (response.status !== 200)
      throw new Error(`${url}: ${response.status} ${JSON.stringify(response.body)}`);
  }
  await service.use(drift).evaluator.runOnce();
  // The service's own loop may store them first: read what is stored.
  const segments = service.use(drift).segmentEvaluator;
  return waitFor('both days of both shop segmentations stored', async () => {
    await segments.runOnce();
    const stored = await readSegmentWindows(service.platform.db, { modelId: SHOP });
    return new Set(stored.map((w) => `${w.segmentation} ${w.start}`)).size === 4 ? stored : undefined;
  });
}
