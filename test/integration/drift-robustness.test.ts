/**
 * Issue 8, findings 3 and 4 (and the evaluation loop's isolation): stored data the collectors now
 * refuse (±Infinity, NaN, far-future times) may already be in `predictions`; it is inserted here
 * with SQL, as older versions stored it.
 */
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { drift as driftCapability, readDriftWindows } from '../../src/drift/index.js';
import { models } from '../../src/models/index.js';
import { startTestService, type TestService } from '../support/service.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 4); // a Monday

async function call(service: TestService, method: 'GET' | 'PUT', url: string, payload?: unknown) {
  const response = await service.app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload: payload as object }),
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

/** `n` ordinary predictions of `model` version 1, one a minute from `start`, through the table's JSON input. */
async function seed(
  service: TestService,
  model: string,
  start: number,
  n: number,
  idPrefix = 'p',
): Promise<void> {
  await service
    .use(models)
    .registry.registerSeen([{ modelId: model, version: '1', task: 'regression', firstSeen: T0 }]);
  const rows = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      model_id: model,
      model_version: '1',
      prediction_id: `${idPrefix}-${i}`,
      timestamp: start + i * 60_000,
      features_num: { x: i % 37 },
      features_str: { c: i % 2 === 0 ? 'even' : 'odd' },
      prediction: String(i / 10),
      prediction_num: i / 10,
      score: (i % 50) / 50,
      probabilities: {},
      latency_ms: 10 + (i % 20),
      is_error: false,
      entity_id: '',
      request_id: '',
    }),
  );
  await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
}

/** A row as an older version stored it: SQL, so that inf and nan reach the table. */
async function insertRaw(
  service: TestService,
  values: {
    model: string;
    id: string;
    time: number;
    x: string;
    score: string;
    latency: string;
    predictionNum: string;
    ingestedAt?: number;
  },
) {
  const ingested =
    values.ingestedAt === undefined ? 'now64(3)' : `fromUnixTimestamp64Milli(${values.ingestedAt}, 'UTC')`;
  await service.platform.db.client.command({
    query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, features_num, features_str, prediction, prediction_num, score,
              probabilities, latency_ms, is_error, entity_id, request_id, ingested_at)
            SELECT '${values.model}', '1', '${values.id}', fromUnixTimestamp64Milli(${values.time}, 'UTC'), map('x', ${values.x}), map('c', 'odd'),
              'Infinity', ${values.predictionNum}, ${values.score}, map(), ${values.latency}, false, '', '', ${ingested}`,
  });
}

describe('non-finite stored values are missing values', () => {
  it('the drift route (ks, wasserstein, auto), a reference from a range, latency percentiles and the loop all work', async () => {
    const service = await startTestService();
    // The service's own loop would race this test's evaluator (same results, but not the same return values).
    await service.use(driftCapability).evaluator.stop();
    await seed(service, 'inf-model', T0, 120);
    for (const [k, v] of ['inf', '-inf', 'nan'].entries()) {
      await insertRaw(service, {
        model: 'inf-model',
        id: `bad-${k}`,
        time: T0 + k * 60_000 + 30_000,
        x: v,
        score: v,
        latency: v,
        predictionNum: v,
      });
    }
    const [stored] = await service.rows<{ n: number; inf: number }>(
      `SELECT count() AS n, countIf(NOT isFinite(score)) AS inf FROM predictions FINAL WHERE model_id = 'inf-model'`,
    );
    expect(stored).toEqual({ n: 123, inf: 3 });

    const set = await call(service, 'PUT', '/api/v1/models/inf-model/versions/1/reference', {
      from: T0,
      to: T0 + HOUR,
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const columns = set.body['columns'] as { column: string; n: number; nulls: number }[];
    // 63 predictions in the hour; the 3 non-finite values of x, score and prediction are missing.
    expect(set.body['rows']).toBe(63);
    for (const name of ['x', 'score', 'prediction'])
      expect(
        columns.find((c) => c.column === name),
        name,
      ).toMatchObject({ n: 60, nulls: 3 });

    for (const method of ['ks', 'wasserstein', 'auto']) {
      const drift = await call(
        service,
        'GET',
        `/api/v1/models/inf-model/drift?from=${T0}&to=${T0 + 2 * HOUR}&bucket=1h&method=${method}`,
      );
      expect(drift.status, `${method}: ${JSON.stringify(drift.body)}`).toBe(200);
      const buckets = drift.body['buckets'] as {
        count: number;
        columns: { column: string; count: number; statistic: number | null }[];
      }[];
      expect(buckets.map((b) => b.count)).toEqual([63, 60]);
      const first = buckets[0]!.columns;
      for (const name of ['x', 'score', 'prediction']) {
        expect(
          first.find((c) => c.column === name),
          `${method} ${name}`,
        ).toMatchObject({ count: 60 });
        expect(Number.isFinite(first.find((c) => c.column === name)!.statistic), `${method} ${name}`).toBe(
          true,
        );
      }
    }

    const metrics = await call(
      service,
      'GET',
      `/api/v1/models/inf-model/metrics?from=${T0}&to=${T0 + HOUR}&bucket=1h`,
    );
    expect(metrics.status).toBe(200);
    const [bucket] = metrics.body['buckets'] as {
      count: number;
      latency_ms: Record<string, number | null>;
    }[];
    expect(bucket!.count).toBe(63);
    // 60 finite latencies 10..29: max 29, every percentile a finite number.
    expect(bucket!.latency_ms['max']).toBe(29);
    for (const p of ['p50', 'p95', 'p99']) expect(Number.isFinite(bucket!.latency_ms[p]), p).toBe(true);

    const put = await call(service, 'PUT', '/api/v1/models/inf-model/policy', {
      drift: { evaluation_window: '1h', allowed_lateness: '0s' },
    });
    expect(put.status).toBe(200);
    const drift = driftCapability.create(
      { ...service.platform, logger: service.platform.logger, registry: new Registry() },
      (d) => service.use(d),
    );
    await drift.evaluator.runOnce();
    const windows = await readDriftWindows(service.platform.db, { modelId: 'inf-model' });
    expect(windows.map((w) => [w.start, w.count])).toEqual([[new Date(T0).toISOString(), 63]]);
  });
});

describe('the evaluation loop', () => {
  it("goes on with model B when model A fails, logs A's failure at error level and counts it", async () => {
    const service = await startTestService();
    // The service's own loop would race this test's evaluator (same results, but not the same return values).
    await service.use(driftCapability).evaluator.stop();
    for (const model of ['a-broken', 'b-fine']) {
      await seed(service, model, T0, 150, model);
      expect(
        (
          await call(service, 'PUT', `/api/v1/models/${model}/versions/1/reference`, {
            from: T0,
            to: T0 + HOUR,
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await call(service, 'PUT', `/api/v1/models/${model}/policy`, {
            drift: { evaluation_window: '1h', allowed_lateness: '0s' },
          })
        ).status,
      ).toBe(200);
    }
    // A's stored reference sample is broken: a later row with the same key replaces x's sorted values.
    await service.platform.db.client.command({
      query: `INSERT INTO drift_reference_values (model_id, model_version, revision, role, column, part, numbers, texts, counts)
              SELECT model_id, model_version, revision, role, column, part, [0, 1, inf], texts, counts
              FROM drift_reference_values FINAL WHERE model_id = 'a-broken' AND column = 'x' AND part = 'number'`,
    });

    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const registry = new Registry();
    // A fresh capability: nothing cached, so the evaluation reads the references as stored.
    const drift = driftCapability.create({ ...service.platform, logger, registry }, (d) => service.use(d));
    const evaluated = await drift.evaluator.runOnce();
    expect(evaluated.map((w) => `${w.modelId} ${w.start}`)).toEqual([
      `b-fine ${new Date(T0).toISOString()}`,
      `b-fine ${new Date(T0 + HOUR).toISOString()}`,
    ]);
    expect(await registry.metrics()).toContain(
      'modelwatch_drift_evaluation_errors_total{model="a-broken"} 1',
    );

    const errors = lines
      .map((l) => JSON.parse(l) as { level: number; model?: string; msg: string; err?: { message: string } })
      .filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      model: 'a-broken',
      msg: expect.stringMatching(/drift evaluation of a model failed/) as unknown,
    });
    expect(errors[0]!.err?.message).toMatch(/finite/);

    // The next run tries A again (and counts again); B has nothing new.
    expect(await drift.evaluator.runOnce()).toEqual([]);
    expect(await registry.metrics()).toContain(
      'modelwatch_drift_evaluation_errors_total{model="a-broken"} 2',
    );
  });
});

describe('the watermark', () => {
  it('is not moved by a single far-future event, nor by one outlier within the skew', async () => {
    const service = await startTestService();
    // The service's own loop would race this test's evaluator (same results, but not the same return values).
    await service.use(driftCapability).evaluator.stop();
    // Hours 0 and 1 complete; hour 2 is the current one (its first 30 minutes).
    await seed(service, 'wm', T0, 150);
    expect(
      (await call(service, 'PUT', '/api/v1/models/wm/versions/1/reference', { from: T0, to: T0 + HOUR }))
        .status,
    ).toBe(200);
    expect(
      (
        await call(service, 'PUT', '/api/v1/models/wm/policy', {
          drift: { evaluation_window: '1h', allowed_lateness: '0s' },
        })
      ).status,
    ).toBe(200);
    const drift = driftCapability.create(
      { ...service.platform, logger: service.platform.logger, registry: new Registry() },
      (d) => service.use(d),
    );
    const storedWindows = async () =>
      (await readDriftWindows(service.platform.db, { modelId: 'wm' })).map((w) => [w.start, w.count]);
    const hour = (h: number) => new Date(T0 + h * HOUR).toISOString();

    // Stamped 2299-12-31, ingested now: past the skew, ignored.
    await insertRaw(service, {
      model: 'wm',
      id: 'far-future',
      time: Date.UTC(2299, 11, 31),
      x: '1',
      score: '0.5',
      latency: '1',
      predictionNum: '1',
    });
    await drift.evaluator.runOnce();
    expect(await storedWindows()).toEqual([
      [hour(0), 60],
      [hour(1), 60],
    ]);

    // 20 hours ahead of the data but "ingested" an hour after it: within the skew, yet alone it cannot move the watermark.
    await insertRaw(service, {
      model: 'wm',
      id: 'early',
      time: T0 + 22 * HOUR,
      ingestedAt: T0 + 3 * HOUR,
      x: '1',
      score: '0.5',
      latency: '1',
      predictionNum: '1',
    });
    expect(await drift.evaluator.runOnce()).toEqual([]);
    expect((await storedWindows()).length).toBe(2);

    // A second event past hour 2 does: the current window is complete now, with all 30 of its predictions.
    await seed(service, 'wm', T0 + 3 * HOUR + 60_000, 1, 'late');
    const evaluated = await drift.evaluator.runOnce();
    expect(evaluated.map((w) => w.start)).toEqual([hour(2)]);
    expect((await storedWindows())[2]).toEqual([hour(2), 30]);
  });
});
