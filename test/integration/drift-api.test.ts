import { describe, expect, it } from 'vitest';
import { predictionJson } from '../support/prediction-json.js';
import { startTestService, type TestService } from '../support/service.js';
import { models } from '../../src/models/index.js';

const T0 = Date.UTC(2026, 4, 4);

async function request(service: TestService, method: 'GET' | 'PUT', url: string, payload?: unknown) {
  const response = await service.app.inject({
    method,
    url,
    ...(payload === undefined
      ? {}
      : typeof payload === 'string'
        ? { payload, headers: { 'content-type': 'application/json' } }
        : { payload: payload as object }),
    headers: {
      authorization: `Bearer ${service.config.api.adminKey ?? ''}`,
      ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}),
    },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

/** A model with a version seen in traffic: rows straight into the table, no Kafka needed here. */
async function seed(service: TestService): Promise<void> {
  await service
    .use(models)
    .registry.registerSeen([{ modelId: 'api-model', version: '2', task: 'regression', firstSeen: T0 }]);
  const rows = Array.from({ length: 50 }, (_, i) =>
    predictionJson({
      model_id: 'api-model',
      model_version: '2',
      prediction_id: `a-${i}`,
      timestamp: T0 + i * 60_000,
      features_num: { x: i },
      features_str: { c: i % 2 === 0 ? 'even' : 'odd' },
      prediction: String(i / 10),
      prediction_num: i / 10,
      score: null,
    }),
  );
  await service.platform.db.insertJsonEachRow('predictions', Buffer.from(rows.join('\n')));
}

describe('drift API: validation, errors and policies', () => {
  it('answers 404, 409 and 400 with a message naming what is wrong', async () => {
    const service = await startTestService();
    await seed(service);

    expect(await request(service, 'GET', '/api/v1/models/nope/drift')).toEqual({
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: "unknown model 'nope'" },
    });
    expect((await request(service, 'GET', '/api/v1/models/api-model/drift?version=9')).body['message']).toBe(
      "model 'api-model' has no version '9' (known: 2)",
    );
    const conflict = await request(service, 'GET', '/api/v1/models/api-model/drift');
    expect(conflict.status).toBe(409);
    expect(conflict.body['message']).toBe(
      "no drift reference is set for model 'api-model' version '2': set one with PUT /api/v1/models/api-model/versions/2/reference",
    );

    const bad = async (url: string) => {
      const r = await request(service, 'GET', url);
      expect(r.status, url).toBe(400);
      return String(r.body['message']);
    };
    expect(await bad('/api/v1/models/api-model/drift?bucket=2w')).toBe(
      'querystring/bucket must match pattern "^(month|1w|[1-9][0-9]{0,5}[mhd])$"',
    );
    expect(await bad('/api/v1/models/api-model/drift?bucket=999d')).toMatch(
      /^querystring\/bucket: '999d' is not a bucket/,
    );
    expect(await bad('/api/v1/models/api-model/drift?method=mmd')).toMatch(
      /^querystring\/method must be equal to one of the allowed values/,
    );
    expect(await bad('/api/v1/models/api-model/drift?from=2026-05-05&to=2026-05-04')).toMatch(
      /^querystring\/from: must be before to/,
    );
    expect(await bad('/api/v1/models/api-model/drift?form=2026-05-05')).toBe(
      "querystring: unknown field 'form'",
    );

    const put = (payload: unknown, url = '/api/v1/models/api-model/versions/2/reference') =>
      request(service, 'PUT', url, payload);
    expect((await put({ rows: [{ x: 1 }] }, '/api/v1/models/api-model/versions/7/reference')).status).toBe(
      404,
    );
    expect(
      (await put({ rows: [{ x: 1 }] }, '/api/v1/models/ghost/versions/1/reference')).body['message'],
    ).toBe("unknown model 'ghost'");
    expect(await put({ rows: [{ x: 1 }], from: 1 })).toMatchObject({
      status: 400,
      body: { message: 'body: give either rows or from and to, not both' },
    });
    expect(await put({ rows: [{ x: 1 }], window: '1h' })).toMatchObject({
      status: 400,
      body: { message: "body: unknown field 'window'" },
    });
    expect(await put('{"rows": [{"x": 1}, {"x": 1e999}]}')).toMatchObject({
      status: 400,
      body: { message: 'body.rows[1].x: must be a finite number, got Infinity' },
    });
    expect(await put({ rows: [{ x: null }] })).toMatchObject({
      status: 400,
      body: { message: 'body.rows: the rows hold no values (every value is null)' },
    });
    expect(await put({ from: '2020-01-01', to: '2020-01-02' })).toMatchObject({
      status: 400,
      body: {
        message:
          "body.from/body.to: model 'api-model' version '2' has no predictions in [2020-01-01T00:00:00.000Z, 2020-01-02T00:00:00.000Z)",
      },
    });
  });

  it('sets a reference from the version range, reports drift, and keeps drift settings as a policy section', async () => {
    const service = await startTestService();
    await seed(service);
    const set = await request(service, 'PUT', '/api/v1/models/api-model/versions/2/reference', {
      from: T0,
      to: T0 + 25 * 60_000,
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      model_id: 'api-model',
      version: '2',
      source: 'range',
      rows: 25,
      from: new Date(T0).toISOString(),
      columns: expect.arrayContaining([
        {
          column: 'x',
          role: 'feature',
          value_type: 'number',
          kind: 'numerical',
          n: 25,
          nulls: 0,
          distinct: 25,
        },
        {
          column: 'c',
          role: 'feature',
          value_type: 'text',
          kind: 'categorical',
          n: 25,
          nulls: 0,
          distinct: 2,
        },
        {
          column: 'prediction',
          role: 'prediction',
          value_type: 'number',
          kind: 'numerical',
          n: 25,
          nulls: 0,
          distinct: 25,
        },
      ]) as unknown,
    });

    const drift = await request(
      service,
      'GET',
      `/api/v1/models/api-model/drift?from=${T0}&to=${T0 + 50 * 60_000}&bucket=1h`,
    );
    expect(drift.status).toBe(200);
    const buckets = drift.body['buckets'] as {
      count: number;
      columns: { column: string; method: string; drifted: boolean }[];
    }[];
    expect(buckets.map((b) => b.count)).toEqual([50]);
    expect(buckets[0]!.columns.map((c) => `${c.column}:${c.method}:${c.drifted}`)).toEqual([
      'c:chi2:false',
      'x:ks:true',
      'prediction:ks:true',
    ]);

    // Policy: unknown fields are named; a valid section is stored, returned with its defaults, and used.
    const policy = (payload: unknown) => request(service, 'PUT', '/api/v1/models/api-model/policy', payload);
    expect(await policy({ drift: { methods: 'ks' } })).toMatchObject({
      status: 400,
      body: { message: "body/drift: unknown field 'methods'" },
    });
    // An unknown section is named (`retrain` is a section since the retrain triggers, issue 11).
    expect(await policy({ alerts: {} })).toMatchObject({
      status: 400,
      body: { message: "body: unknown field 'alerts'" },
    });
    expect(await policy({ drift: { columns: { c: { kind: 'categorical', method: 'ks' } } } })).toMatchObject({
      status: 400,
      body: { message: 'body.drift.columns.c.method: ks does not apply to categorical columns' },
    });
    expect(await policy({})).toMatchObject({
      status: 400,
      body: {
        message: 'body: give at least one section (drift, quality, segments, change_detection, retrain)',
      },
    });
    expect((await request(service, 'PUT', '/api/v1/models/ghost/policy', { drift: {} })).status).toBe(404);
    const stored = await policy({
      drift: { method: 'psi', columns: { x: { threshold: 50 } }, evaluation_window: '1d' },
    });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({
      model_id: 'api-model',
      updated_by: 'bootstrap-admin',
      drift: {
        method: 'psi',
        columns: { x: { threshold: 50 } },
        thresholds: { ks: 0.05, chi2: 0.05, wasserstein: 0.1, psi: 0.1, jensenshannon: 0.1 },
        dataset_drift_share: 0.5,
        evaluation_window: '1d',
        allowed_lateness: '5m',
      },
    });
    const got = await request(service, 'GET', '/api/v1/models/api-model/policy');
    expect(got.body).toEqual(stored.body);
    const withPolicy = await request(
      service,
      'GET',
      `/api/v1/models/api-model/drift?from=${T0}&to=${T0 + 50 * 60_000}`,
    );
    const columns = (
      withPolicy.body['buckets'] as {
        columns: { column: string; method: string; threshold: number; drifted: boolean }[];
      }[]
    )[0]!.columns;
    expect(columns.map((c) => [c.column, c.method, c.threshold])).toEqual([
      ['c', 'psi', 0.1],
      ['x', 'psi', 50],
      ['prediction', 'psi', 0.1],
    ]);
    expect(columns.find((c) => c.column === 'x')!.drifted).toBe(false);
  });
});
