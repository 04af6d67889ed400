/**
 * A shop's predictions over two days for the segment tests, from a seeded generator (the same
 * data every run): x and y normal, a region (a categorical feature), a channel tag, and labels.
 * Day 0 is the reference. East's x is always 2 higher (a region that differs from the population
 * all along); on day 1 north's x moves up by 1.5 (drift in one region only) and a tenth of west's
 * y goes missing (a quality problem in one region only).
 */
import { mulberry32 } from '../../src/change-detection/streams.js';

export const SHOP_T0 = Date.UTC(2026, 5, 1);
export const DAY = 86_400_000;
export const PER_DAY = 2_000;

const REGIONS: [string, number][] = [
  ['south', 0.33],
  ['east', 0.3],
  ['west', 0.28],
  ['north', 0.06],
  ['isle-a', 0.01],
  ['isle-b', 0.01],
  ['isle-c', 0.01],
];

export interface ShopEvent {
  prediction_id: string;
  model_id: string;
  model_version: string;
  timestamp: number;
  features: Record<string, number | string | null>;
  prediction: number;
  score: number;
  tags: Record<string, string>;
}

export function shopEvents(): {
  predictions: ShopEvent[];
  labels: { prediction_id: string; model_id: string; label: number; timestamp: number }[];
} {
  const next = mulberry32(20260601);
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const predictions: ShopEvent[] = [];
  const labels: { prediction_id: string; model_id: string; label: number; timestamp: number }[] = [];
  for (let day = 0; day < 2; day++) {
    for (let i = 0; i < PER_DAY; i++) {
      const u = next();
      let acc = 0;
      const region = REGIONS.find(([, w]) => (acc += w) > u)?.[0] ?? 'south';
      let x = normal() + (region === 'east' ? 2 : 0);
      if (day === 1 && region === 'north') x += 1.5;
      const y = normal();
      const features: Record<string, number | string | null> = { x, y, region };
      // Every 100th prediction has no region: the segment of value null.
      if (i % 100 === 7) delete features['region'];
      if (day === 1 && region === 'west' && i % 10 === 3) features['y'] = null;
      const id = `s-${day}-${i}`;
      const timestamp = SHOP_T0 + day * DAY + Math.floor((i * DAY) / PER_DAY);
      const prediction = x > 0.5 ? 1 : 0;
      predictions.push({
        prediction_id: id,
        model_id: 'shop',
        model_version: '1',
        timestamp,
        features,
        prediction,
        score: 1 / (1 + Math.exp(-(x - 0.5))),
        tags: { channel: next() < 0.6 ? 'web' : 'app' },
      });
      // Right 80% of the time, wrong the rest.
      labels.push({
        prediction_id: id,
        model_id: 'shop',
        label: next() < 0.8 ? prediction : 1 - prediction,
        timestamp: timestamp + 1000,
      });
    }
  }
  return { predictions, labels };
}

/** Two predictions a few hours into day 2, so the watermark passes day 1's end. */
export function laterEvents(model: string): ShopEvent[] {
  return [0, 1].map((i) => ({
    prediction_id: `${model}-late-${i}`,
    model_id: model,
    model_version: '1',
    timestamp: SHOP_T0 + 2 * DAY + 6 * 3_600_000 + i,
    features: { x: 0, y: 0, region: 'south' },
    prediction: 0,
    score: 0.5,
    tags: { channel: 'web' },
  }));
}

/**
 * Shop's drift and segments policy: daily windows, strict p-value thresholds (the population's
 * small shifts are not drift), region (a feature) per day and channel (a tag) declared, so the
 * segment loop stores both. `min_reference_rows: 20`: the predictions without a region (20 a
 * day) and `other` (the isles, ~60) are measured against their own reference rows. Under the
 * default 100 they are measured against the whole 2,000-row reference, for which `auto` picks
 * wasserstein (n_R > 1000), a distance that flags a window of 20-60 predictions by sampling
 * noise alone (x and y "drifted" in both): not what these tests are about.
 */
export const SHOP_POLICY = {
  drift: { thresholds: { ks: 0.001, chi2: 0.001 }, evaluation_window: '1d' },
  segments: {
    max_segments: 4,
    min_reference_rows: 20,
    evaluation_windows: { 'feature:region': '1d' },
    evaluate: ['tag:channel'],
  },
};

/**
 * The segments of SHOP_POLICY's declared segmentations on day 1, labelled as the segment gauges
 * label them, sorted: four regions (max_segments), other (the isles), none, and both channels.
 */
export const SHOP_SEGMENT_LABELS = [
  'feature:region!none',
  'feature:region!other',
  'feature:region=east',
  'feature:region=north',
  'feature:region=south',
  'feature:region=west',
  'tag:channel=app',
  'tag:channel=web',
];
