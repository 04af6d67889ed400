/**
 * Review 26: inputs an uploader or a viewer chooses that broke the drift route. Findings 1 and 5
 * also compare the answer from the cached reference with the one from the stored reference (after
 * a restart or a cache eviction), which a fresh `DriftService` reads.
 */
import { describe, expect, it } from 'vitest';
import { drift } from '../../src/drift/index.js';
import { DriftService } from '../../src/drift/service/drift-service.js';
import { PolicyStore } from '../../src/drift/store/policies.js';
import { models } from '../../src/models/index.js';
import { predictionJson } from '../support/prediction-json.js';
import { startTestService, type TestService } from '../support/service.js';

const T0 = Date.UTC(2026, 4, 4);
const MINUTE = 60_000;

async function call(service: TestService, method: 'GET' | 'PUT', url: string, payload?: object) {
  const response = await service.app.inject({
    method,
    url,
    ...(payload === undefined ? {} : { payload }),
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.body };
}

/** A service holding `n` predictions of `model` version 1, one a minute from T0, with the given features. */
async function serviceWith(
  model: string,
  n: number,
  features: (i: number) => { features_num?: Record<string, number>; features_str?: Record<string, string> },
  env: Record<string, string> = {},
): Promise<TestService> {
  const service = await startTestService(env);
  await service
    .use(models)
    .registry.registerSeen([{ modelId: model, version: '1', task: 'regression', firstSeen: T0 }]);
  const rows = Array.from({ length: n }, (_, i) =>
    predictionJson({
      model_id: model,
      model_version: '1',
      prediction_id: `${model}-${i}`,
      timestamp: T0 + i * MINUTE,
      ...features(i),
    }),
  );
  await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
  return service;
}

const putReference = (service: TestService, model: string, body: object) =>
  call(service, 'PUT', `/api/v1/models/${model}/versions/1/reference`, body);

/** The same report from the reference as stored, as a restarted service reads it. */
async function storedReport(service: TestService, model: string, query: { method?: 'wasserstein' } = {}) {
  const db = service.platform.db;
  const restarted = new DriftService({
    db,
    models: service.use(models).registry,
    policies: new PolicyStore(db),
    logger: service.platform.logger,
  });
  return restarted.report({ modelId: model, from: T0, to: T0 + 60 * MINUTE, window: undefined, ...query });
}

type Column = { column: string; role: string; statistic: number | null; drifted: boolean };
const driftUrl = (model: string, query = '') =>
  `/api/v1/models/${model}/drift?from=${T0}&to=${T0 + 60 * MINUTE}${query}`;
const columnsOf = (body: string) =>
  (JSON.parse(body) as { buckets: { columns: Column[] }[] }).buckets[0]!.columns;

describe('uploaded rows with Object.prototype names (finding 1)', () => {
  it('a `constructor` feature drifting is measured as a feature, cached and stored', async () => {
    const model = 'f1';
    // The window: one team, one tyre, laps far slower than the reference's.
    const service = await serviceWith(model, 30, (i) => ({
      features_str: { constructor: 'ferrari', toString: 'soft' },
      features_num: { valueOf: 1000 + i },
    }));
    const teams = ['ferrari', 'mercedes', 'red bull'];
    const rows = Array.from({ length: 60 }, (_, i) => ({
      constructor: teams[i % 3],
      toString: i % 2 === 0 ? 'soft' : 'hard',
      valueOf: i,
    }));
    const put = await putReference(service, model, { rows });
    expect(put.status).toBe(200);
    const roles = (JSON.parse(put.body) as { columns: Column[] }).columns.map((c) => [c.column, c.role]);
    expect(roles).toEqual([
      ['constructor', 'feature'],
      ['toString', 'feature'],
      ['valueOf', 'feature'],
    ]);

    const cached = await call(service, 'GET', driftUrl(model));
    expect(cached.status).toBe(200);
    const columns = columnsOf(cached.body);
    expect(columns.map((c) => [c.column, c.role, c.drifted])).toEqual([
      ['constructor', 'feature', true],
      ['toString', 'feature', true],
      ['valueOf', 'feature', true],
    ]);
    expect(columns.every((c) => c.statistic !== null)).toBe(true);
    expect((JSON.parse(cached.body) as { buckets: { drift_share: number }[] }).buckets[0]!.drift_share).toBe(
      1,
    );
    expect((await storedReport(service, model)).buckets[0]!.columns).toEqual(columns);
  });
});

describe('values near the largest double (finding 5)', () => {
  it('give the same finite W1 from the cached and the stored reference, and no 500', async () => {
    const model = 'huge';
    // y spans ±1.7e308: gaps beyond the largest double. x: a 1.5× shift of values ~1e200.
    const y = (i: number) => (i % 2 === 0 ? 1 : -1) * (1.7e308 - i * 1e293);
    const service = await serviceWith(model, 40, (i) => ({
      features_num: { x: (i + 1) * 1.5e200, y: y(i) },
    }));
    const rows = Array.from({ length: 40 }, (_, i) => ({ x: (i + 1) * 1e200, y: y(i) }));
    expect((await putReference(service, model, { rows })).status).toBe(200);

    const cached = await call(service, 'GET', driftUrl(model, '&method=wasserstein'));
    expect(cached.status).toBe(200);
    const [x, yColumn] = columnsOf(cached.body);
    // W1 = mean(0.5 k) × 1e200 = 10.25e200 (k = 1…40), std = sqrt((40² − 1) / 12) × 1e200.
    expect(x!.statistic).toBeCloseTo(10.25 / Math.sqrt(1599 / 12), 12);
    expect(x!.drifted).toBe(true);
    expect(yColumn).toMatchObject({ column: 'y', statistic: 0, drifted: false });
    expect((await storedReport(service, model, { method: 'wasserstein' })).buckets[0]!.columns).toEqual(
      columnsOf(cached.body),
    );
  });
});

describe('the values of one window (finding 2)', () => {
  it('are refused beyond the limit with the way out: a bucket, or a shorter range for the report', async () => {
    const model = 'wide';
    const service = await serviceWith(
      model,
      50,
      (i) => ({ features_num: { x: i % 37 }, features_str: { c: i % 2 ? 'odd' : 'even' } }),
      { MODELWATCH_DRIFT_MAX_WINDOW_VALUES: '60' },
    );
    const reference = { from: new Date(T0).toISOString(), to: new Date(T0 + 50 * MINUTE).toISOString() };
    expect((await putReference(service, model, reference)).status).toBe(200);
    expect(service.use(drift).service.maxWindowValues()).toBe(60);

    // The whole range: 50 predictions × 2 columns.
    const whole = await call(service, 'GET', driftUrl(model, '&columns=x,c'));
    expect(whole.status).toBe(400);
    expect(JSON.parse(whole.body)).toMatchObject({
      message:
        'querystring: a window would hold 50 predictions × 2 columns = 100 values; at most 60 are read at once. Give a bucket (bucket=1h or 1d), a shorter from/to range, or fewer columns (columns=a,b)',
    });
    // Buckets of 10 minutes: 10 predictions × 2 columns each.
    expect((await call(service, 'GET', driftUrl(model, '&columns=x,c&bucket=10m'))).status).toBe(200);
    const hourly = await call(service, 'GET', driftUrl(model, '&columns=x,c&bucket=1h'));
    expect(hourly.status).toBe(400);
    expect(hourly.body).toContain('Give a smaller bucket, or fewer columns (columns=a,b)');

    // The HTML report reads the whole range once more, whatever the bucket.
    const report = `/api/v1/models/${model}/drift/report?columns=x,c&bucket=10m&from=${T0}`;
    const refused = await call(service, 'GET', `${report}&to=${T0 + 60 * MINUTE}`);
    expect(refused.status).toBe(400);
    expect(refused.body).toContain(
      "at most 60 are read at once. The report's distributions read the whole range as one window: give a shorter from/to range or fewer columns (columns=a,b)",
    );
    expect((await call(service, 'GET', `${report}&to=${T0 + 20 * MINUTE}`)).status).toBe(200);
  });
});
