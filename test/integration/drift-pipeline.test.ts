import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { drift as driftCapability, DriftEvaluator, readDriftWindows } from '../../src/drift/index.js';
import { createDriftGauges } from '../../src/drift/service/gauges.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 2); // a Monday, 00:00 UTC
const PER_HOUR = 600;
const HOURS = 4;
/** From this hour on, feature `a` moves by one standard deviation; nothing else changes. */
const DRIFT_HOUR = 2;

/** A seeded generator (mulberry32), so the data, and so every statistic, is the same on every run. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function events() {
  const rnd = random(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const predictions: Record<string, unknown>[] = [];
  const labels: Record<string, unknown>[] = [];
  for (let i = 0; i < PER_HOUR * HOURS; i++) {
    const timestamp = T0 + Math.floor((i * HOUR) / PER_HOUR);
    const hour = Math.floor(i / PER_HOUR);
    const b = 5 + 2 * normal();
    const prediction = b > 5 ? 1 : 0;
    predictions.push({
      prediction_id: `d-${i}`,
      model_id: 'drift-demo',
      model_version: '1',
      timestamp,
      features: {
        a: normal() + (hour >= DRIFT_HOUR ? 1 : 0),
        b,
        region: ['north', 'south', 'east'][Math.floor(rnd() * 3)],
      },
      prediction,
      score: 1 / (1 + Math.exp(5 - b)),
    });
    labels.push({
      prediction_id: `d-${i}`,
      label: rnd() < 0.9 ? prediction : 1 - prediction,
      timestamp: timestamp + 60_000,
    });
  }
  return { predictions, labels };
}

async function put(service: TestService, url: string, payload: unknown) {
  const response = await service.app.inject({
    method: 'PUT',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

interface Bucket {
  start: string;
  count: number;
  drift_share: number;
  dataset_drift: boolean;
  columns: { column: string; role: string; method: string; statistic: number | null; drifted: boolean }[];
}

describe('drift through the real pipeline (Kafka → ClickHouse → drift)', () => {
  it('flags the drifted feature from the bucket where the drift starts, and evaluates complete windows', async () => {
    const service = await startTestService();
    const { predictions, labels } = events();
    await produce(service.config.topics.predictions, predictions, (i) => `d-${i}`);
    await produce(service.config.topics.labels, labels);
    await waitFor('predictions and labels stored', async () => {
      const [row] = await service.rows<{ p: number; l: number }>(
        'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
      );
      return row?.p === predictions.length && row.l === labels.length ? true : undefined;
    });

    // The reference: the version's own predictions before the drift.
    const set = await put(service, '/api/v1/models/drift-demo/versions/1/reference', {
      from: new Date(T0).toISOString(),
      to: T0 + DRIFT_HOUR * HOUR,
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ source: 'range', rows: DRIFT_HOUR * PER_HOUR });
    expect(
      (set.body['columns'] as { column: string; kind: string }[]).map((c) => `${c.column}:${c.kind}`).sort(),
    ).toEqual([
      'a:numerical',
      'b:numerical',
      'label:categorical',
      'prediction:categorical',
      'region:categorical',
      'score:numerical',
    ]);

    const drift = await service.get(
      `/api/v1/models/drift-demo/drift?from=${T0}&to=${T0 + HOURS * HOUR}&bucket=1h`,
    );
    expect(drift.status).toBe(200);
    const body = drift.body as { model_id: string; version: string; buckets: Bucket[] };
    expect(body).toMatchObject({ model_id: 'drift-demo', version: '1' });
    expect(body.buckets.map((b) => [b.start, b.count])).toEqual(
      Array.from({ length: HOURS }, (_, h) => [new Date(T0 + h * HOUR).toISOString(), PER_HOUR]),
    );
    for (const [h, bucket] of body.buckets.entries()) {
      // 1200 reference rows: auto picks wasserstein for numbers and jensenshannon for categories.
      expect(bucket.columns.map((c) => `${c.column}:${c.method}`)).toEqual([
        'a:wasserstein',
        'b:wasserstein',
        'region:jensenshannon',
        'prediction:jensenshannon',
        'score:wasserstein',
        'label:jensenshannon',
      ]);
      const drifted = bucket.columns.filter((c) => c.drifted).map((c) => c.column);
      expect(drifted, `hour ${h}`).toEqual(h >= DRIFT_HOUR ? ['a'] : []);
      expect(bucket.drift_share).toBeCloseTo(h >= DRIFT_HOUR ? 1 / 3 : 0, 12);
      expect(bucket.dataset_drift).toBe(false);
    }
    const a = (h: number) => body.buckets[h]!.columns.find((c) => c.column === 'a')!.statistic!;
    expect(a(DRIFT_HOUR)).toBeGreaterThan(0.8);
    expect(a(DRIFT_HOUR - 1)).toBeLessThan(0.1);

    // The evaluation window: hourly, no lateness. The watermark is the last event time, inside
    // hour 3, so hours 0-2 are complete.
    const policy = await put(service, '/api/v1/models/drift-demo/policy', {
      drift: { evaluation_window: '1h', allowed_lateness: '0s' },
    });
    expect(policy.status).toBe(200);
    // The background loop may evaluate the windows before runOnce does: read what is stored.
    const evaluator = service.use(driftCapability).evaluator;
    await evaluator.runOnce();
    expect(await evaluator.runOnce()).toEqual([]);
    const stored = await service.rows<{ window_start: string; column: string; drifted: boolean }>(
      `SELECT window_start, column, drifted FROM drift_results FINAL WHERE model_id = 'drift-demo' AND drifted ORDER BY window_start, column`,
    );
    expect(stored.map((r) => [r.window_start, r.column])).toEqual([['2026-03-02 02:00:00.000', 'a']]);
    const windows = await readDriftWindows(service.platform.db, { modelId: 'drift-demo' });
    expect(windows.map((w) => [w.start, w.count, w.columns.length, w.dataset_drift])).toEqual(
      [0, 1, 2].map((h) => [new Date(T0 + h * HOUR).toISOString(), PER_HOUR, 6, false]),
    );
    // Stored windows are the drift route's buckets for the same windows.
    expect(
      windows.map(({ start, end, count, drift_share, dataset_drift, columns }) => ({
        start,
        end,
        count,
        drift_share,
        dataset_drift,
        columns,
      })),
    ).toEqual(body.buckets.slice(0, 3));

    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('modelwatch_dataset_drift{model="drift-demo"} 0');
    expect(metrics).toMatch(
      new RegExp(
        `modelwatch_drift_statistic\\{model="drift-demo",column="a",method="wasserstein"\\} ${a(2).toString().replace('.', '\\.')}`,
      ),
    );
    expect(metrics).toContain(
      `modelwatch_drift_window_end_seconds{model="drift-demo"} ${(T0 + 3 * HOUR) / 1000}`,
    );

    // A replay (every event delivered again) and a restart of the evaluation give the same rows.
    await produce(service.config.topics.predictions, predictions, (i) => `d-${i}`);
    await waitFor('the replay stored', async () => {
      const [row] = await service.rows<{ n: number }>('SELECT count() AS n FROM predictions');
      return row !== undefined && row.n >= 2 * predictions.length ? true : undefined;
    });
    await service.platform.db.client.command({ query: 'TRUNCATE TABLE drift_results' });
    await evaluator.runOnce();
    const again = await readDriftWindows(service.platform.db, { modelId: 'drift-demo' });
    expect(again.map(({ evaluated_at: _e, ...w }) => w)).toEqual(
      windows.map(({ evaluated_at: _e, ...w }) => w),
    );

    // After a restart, with nothing new to evaluate, the gauges show the latest stored window.
    const registry = new Registry();
    const restarted = new DriftEvaluator({
      db: service.platform.db,
      service: service.use(driftCapability).service,
      gauges: createDriftGauges(registry),
      logger: service.platform.logger,
    });
    expect(await restarted.runOnce()).toEqual([]);
    expect(await registry.metrics()).toContain(
      `modelwatch_drift_window_end_seconds{model="drift-demo"} ${(T0 + 3 * HOUR) / 1000}`,
    );
  });
});
