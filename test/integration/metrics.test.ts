import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createQualityGauges, type MetricsBucket, type ModelMetrics } from '../../src/metrics/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { referenceMetrics, type RefLabel, type RefPrediction } from '../unit/metrics/reference.js';
import { models } from '../../src/models/index.js';

/**
 * Metrics through the real pipeline: events produced to the service's topics, stored by the
 * collectors, read back through GET /api/v1/models/:model/metrics. The small cases are checked
 * by hand (fractions in the comments), by the reference implementation, and where noted by
 * scikit-learn offline.
 */

const HOUR = 3_600_000;
/** Monday 2026-03-02 10:00 UTC. */
const H1 = Date.UTC(2026, 2, 2, 10);
const H2 = H1 + HOUR;

type Row = RefPrediction & { model: string };

function predictionEvent(p: Row): Record<string, unknown> {
  return {
    prediction_id: p.id,
    model_id: p.model,
    model_version: p.version,
    timestamp: new Date(p.time).toISOString(),
    features: { x: 1 },
    prediction: p.prediction,
    ...(p.score === undefined ? {} : { score: p.score }),
    ...(p.latency === undefined || p.latency === null ? {} : { latency_ms: p.latency }),
    status: p.error === true ? 'error' : 'ok',
  };
}

function labelEvent(l: RefLabel): Record<string, unknown> {
  return { prediction_id: l.id, label: l.label, timestamp: l.time };
}

async function waitForRows(service: TestService, table: 'predictions' | 'labels', n: number): Promise<void> {
  await waitFor(`${n} rows in ${table}`, async () => {
    const [row] = await service.rows<{ c: number }>(`SELECT count() AS c FROM ${table} FINAL`);
    return row?.c === n ? true : undefined;
  });
}

/** The collectors register a version after storing its first predictions: wait for both. */
async function waitForVersions(service: TestService, model: string, n: number): Promise<void> {
  await waitFor(`${n} versions of ${model} registered`, async () => {
    const [row] = await service.rows<{ c: number }>(
      'SELECT count() AS c FROM model_versions FINAL WHERE model_id = {model:String}',
      { model },
    );
    return row?.c === n ? true : undefined;
  });
}

/**
 * At least `n` messages the collectors stored from a topic (counted after the write), redelivered
 * copies included. At least: a redelivery the test did not make (a rebalance on a loaded machine)
 * counts again, and a wait for exactly `n` timed out once in a whole run, its cause not found.
 */
async function waitForStored(service: TestService, topic: string, n: number): Promise<void> {
  await waitFor(`${n} messages stored from ${topic}`, async () => {
    const metric = await service.platform.registry.getSingleMetric('modelwatch_messages_total')?.get();
    const stored =
      metric?.values.find((v) => v.labels['topic'] === topic && v.labels['outcome'] === 'stored')?.value ?? 0;
    return stored >= n ? true : undefined;
  });
}

async function metrics(service: TestService, query: string): Promise<ModelMetrics> {
  const response = await service.get(`/api/v1/models/${query}`);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as ModelMetrics;
}

function expectClose(
  actual: MetricsBucket | undefined,
  expected: Partial<Record<keyof MetricsBucket, number | null>>,
): void {
  expect(actual).toBeDefined();
  for (const [field, value] of Object.entries(expected)) {
    const got = actual?.[field as keyof MetricsBucket] as number | null;
    if (value === null || got === null) expect(got, field).toBe(value);
    else expect(got, field).toBeCloseTo(value, 12);
  }
}

describe('GET /models/:model/metrics through the pipeline', () => {
  it('binary: ties in ROC AUC, labels before and after their predictions, redelivery, a late label', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const model = 'hand-bin';
    const at = (h: number, minute: number) => h + minute * 60_000;
    // Bucket H1 (hand-checked; see the sums below). p7 predicts a boolean, p1 and p6 have boolean labels.
    const h1: Row[] = [
      { model, version: '1', id: 'p1', time: at(H1, 1), prediction: 1, score: 0.9, latency: 10 },
      { model, version: '1', id: 'p2', time: at(H1, 2), prediction: 1, score: 0.8, latency: 20 },
      { model, version: '1', id: 'p3', time: at(H1, 3), prediction: 0, score: 0.4, latency: 30 },
      { model, version: '1', id: 'p4', time: at(H1, 4), prediction: 0, score: 0.4, latency: 40 },
      { model, version: '1', id: 'p5', time: at(H1, 5), prediction: 1, score: 0.7, latency: 50, error: true },
      { model, version: '1', id: 'p6', time: at(H1, 6), prediction: 0, score: 0.2, latency: null },
      { model, version: '1', id: 'p7', time: at(H1, 7), prediction: true, score: 0.7, latency: 60 },
      { model, version: '1', id: 'p8', time: at(H1, 59), prediction: 0, score: 0.1, latency: 70 },
    ];
    const h2: Row[] = [
      { model, version: '1', id: 'q1', time: at(H2, 0), prediction: 1, score: 0.6, latency: 5 },
      { model, version: '1', id: 'q2', time: at(H2, 10), prediction: 0, score: 0.3, latency: 5 },
      { model, version: '1', id: 'q3', time: at(H2, 20), prediction: 1, score: 0.55, latency: 5 },
      { model, version: '1', id: 'q4', time: at(H2, 30), prediction: 0, score: 0.35, latency: 5 },
    ];
    const labelTime = H1 + 24 * HOUR;
    const early: RefLabel[] = [
      { id: 'p1', label: true, time: labelTime },
      { id: 'p2', label: 0, time: labelTime },
      { id: 'p3', label: 1, time: labelTime },
      { id: 'p4', label: 0, time: labelTime },
    ];
    const later: RefLabel[] = [
      { id: 'p5', label: 1, time: labelTime },
      { id: 'p6', label: false, time: labelTime },
      { id: 'p7', label: 0, time: labelTime },
      { id: 'q1', label: 1, time: labelTime },
      { id: 'q2', label: 0, time: labelTime },
      { id: 'q3', label: 0, time: labelTime },
    ];
    const late: RefLabel = { id: 'q4', label: 1, time: labelTime + HOUR };

    // Labels first: they must join the predictions that arrive after them.
    await produce(topics.labels, early.map(labelEvent));
    await waitForRows(service, 'labels', 4);
    await produce(topics.predictions, [...h1, ...h2].map(predictionEvent));
    await produce(topics.labels, later.map(labelEvent));
    await waitForRows(service, 'predictions', 12);
    await waitForRows(service, 'labels', 10);
    await waitForVersions(service, model, 1);
    // Redelivered prediction and label: stored twice, counted once.
    await produce(topics.predictions, [predictionEvent(h1[1] as Row)]);
    await produce(topics.labels, [labelEvent(later[0] as RefLabel)]);
    await waitForStored(service, topics.predictions, 13);
    await waitForStored(service, topics.labels, 11);

    const range = `from=${new Date(H1).toISOString()}&to=${new Date(H2 + HOUR).toISOString()}&bucket=1h`;
    const first = await metrics(service, `${model}/metrics?${range}`);
    expect(first.model_id).toBe(model);
    expect(first.buckets.map((b) => [b.start, b.end, b.version, b.task])).toEqual([
      ['2026-03-02T10:00:00.000Z', '2026-03-02T11:00:00.000Z', '1', 'binary_classification'],
      ['2026-03-02T11:00:00.000Z', '2026-03-02T12:00:00.000Z', '1', 'binary_classification'],
    ]);
    const [b1, b2] = first.buckets;
    // H1: labeled p1..p7; TP p1,p5; FP p2,p7; FN p3; TN p4,p6.
    // ROC AUC: positives {0.9,0.4,0.7} vs negatives {0.8,0.4,0.2,0.7}: 4 + 1.5 + 2.5 = 8 of 12 pairs
    // (scikit-learn roc_auc_score = 0.6666666666666666). Latencies 10..70 without p6: NumPy percentiles 40, 67, 69.4.
    expect(b1).toMatchObject({
      count: 8,
      labeled: 7,
      latency_ms: { p50: 40, max: 70 },
      macro_f1: null,
      mae: null,
      rmse: null,
      mape: null,
      r2: null,
    });
    expectClose(b1, {
      throughput: 8 / 3600,
      error_rate: 1 / 8,
      label_coverage: 7 / 8,
      accuracy: 4 / 7,
      precision: 2 / 4,
      recall: 2 / 3,
      f1: 4 / 7,
      roc_auc: 8 / 12,
      positive_rate: 4 / 8,
    });
    expect(b1?.latency_ms.p95).toBeCloseTo(67, 9);
    expect(b1?.latency_ms.p99).toBeCloseTo(69.4, 9);
    // H2 before q4's label: TP q1, FP q3, TN q2; AUC 1 (q1 above both negatives).
    expectClose(b2, {
      count: 4,
      labeled: 3,
      label_coverage: 3 / 4,
      accuracy: 2 / 3,
      precision: 1 / 2,
      recall: 1,
      f1: 2 / 3,
      roc_auc: 1,
    });

    // q4's label arrives late and changes H2, the bucket of its prediction; H1 is unchanged.
    await produce(topics.labels, [labelEvent(late)]);
    await waitForRows(service, 'labels', 11);
    const second = await metrics(service, `${model}/metrics?${range}`);
    expect(second.buckets[0]).toEqual(b1);
    // H2 now: TP q1, FP q3, FN q4, TN q2; AUC 3 of 4 pairs (roc_auc_score = 0.75).
    expectClose(second.buckets[1], {
      labeled: 4,
      label_coverage: 1,
      accuracy: 1 / 2,
      precision: 1 / 2,
      recall: 1 / 2,
      f1: 1 / 2,
      roc_auc: 3 / 4,
    });

    // The same numbers from the reference implementation on the raw events, redelivered copies included.
    const expected = referenceMetrics(
      [...h1, ...h2, h1[1] as Row],
      [...early, ...later, later[0] as RefLabel, late],
      {
        bucketOf: (t) => t - (t % HOUR),
        taskOf: () => 'binary_classification',
      },
    );
    for (const [i, e] of expected.entries()) {
      const { start: _start, version: _version, latency_ms, ...fields } = e;
      expectClose(second.buckets[i], fields);
      for (const q of ['p50', 'p95', 'p99', 'max'] as const)
        expect(second.buckets[i]?.latency_ms[q]).toBeCloseTo(latency_ms[q] as number, 9);
    }
  });

  it('multiclass and regression versions of one model, each with its own task; a task corrected by PATCH', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const model = 'hand-mix';
    const day = Date.UTC(2026, 2, 2);
    const cls: [string, string, string | undefined][] = [
      ['c1', 'cat', 'cat'],
      ['c2', 'dog', 'cat'],
      ['c3', 'dog', 'dog'],
      ['c4', 'bird', 'dog'],
      ['c5', 'cat', 'fish'],
      ['c6', 'cat', undefined],
    ];
    const reg: [string, number, number | string][] = [
      ['r1', 10, 12],
      ['r2', 5, 0],
      ['r3', 7, 8],
      ['r4', 3, 2],
      ['r5', 1, 'unknown'],
    ];
    await produce(topics.predictions, [
      ...cls.map(([id, prediction]) => predictionEvent({ model, version: 'cls', id, time: day, prediction })),
      ...reg.map(([id, prediction]) => predictionEvent({ model, version: 'reg', id, time: day, prediction })),
    ]);
    await produce(topics.labels, [
      ...cls.flatMap(([id, , label]) =>
        label === undefined ? [] : [labelEvent({ id, label, time: day + HOUR })],
      ),
      ...reg.map(([id, , label]) => labelEvent({ id, label, time: day + HOUR })),
    ]);
    await waitForRows(service, 'predictions', 11);
    await waitForRows(service, 'labels', 10);
    await waitForVersions(service, model, 2);

    const range = `from=2026-03-02&to=2026-03-03&bucket=1d`;
    const all = await metrics(service, `${model}/metrics?${range}`);
    expect(all.buckets.map((b) => [b.version, b.task, b.start, b.end])).toEqual([
      ['cls', 'multiclass_classification', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z'],
      ['reg', 'regression', '2026-03-02T00:00:00.000Z', '2026-03-03T00:00:00.000Z'],
    ]);
    const [c, r] = all.buckets;
    // Multiclass: 2 of 5 labeled right; per-class F1 cat 2·1/(2+2), dog 2·1/(2+2), bird 0, fish 0
    // → macro 0.25 (scikit-learn f1_score(average='macro', zero_division=0) = 0.25).
    expect(c).toMatchObject({
      count: 6,
      labeled: 5,
      precision: null,
      recall: null,
      f1: null,
      roc_auc: null,
      positive_rate: null,
      mae: null,
      r2: null,
    });
    expectClose(c, { accuracy: 2 / 5, macro_f1: 0.25, label_coverage: 5 / 6 });
    // Regression over r1..r4 (r5's label is not a number): errors -2, 5, -1, 1 → MAE 9/4,
    // RMSE √(31/4); MAPE without r2's zero label: (2/12 + 1/8 + 1/2) / 3; R² = 1 − 31/91
    // (scikit-learn: 2.25, 2.7838821814150108, r2_score 0.6593406593406593).
    expect(r).toMatchObject({
      count: 5,
      labeled: 5,
      accuracy: null,
      macro_f1: null,
      roc_auc: null,
      f1: null,
      latency_ms: { p50: null, p95: null, p99: null, max: null },
    });
    expectClose(r, {
      mae: 2.25,
      rmse: Math.sqrt(31 / 4),
      mape: (2 / 12 + 1 / 8 + 1 / 2) / 3,
      r2: 1 - 31 / 91,
    });

    const onlyReg = await metrics(service, `${model}/metrics?${range}&version=reg`);
    expect(onlyReg.buckets).toEqual([r]);

    // The string predictions were inferred multiclass; the owner says: binary, 'cat' is positive.
    const patch = await service.app.inject({
      method: 'PATCH',
      url: `/api/v1/models/${model}/versions/cls`,
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
      payload: { task: 'binary_classification', positive_class: 'cat' },
    });
    expect(patch.statusCode, patch.body).toBe(200);
    expect(patch.json()).toMatchObject({
      model_id: model,
      version: 'cls',
      task: 'binary_classification',
      task_source: 'declared',
      positive_class: 'cat',
      stage: 'production',
    });
    const corrected = await metrics(service, `${model}/metrics?${range}&version=cls`);
    // Positive = cat: TP c1, FP c5, FN c2, TN c3, c4; 3 of 6 predictions say cat; no scores, so no AUC.
    expect(corrected.buckets[0]).toMatchObject({
      task: 'binary_classification',
      roc_auc: null,
      macro_f1: null,
    });
    expectClose(corrected.buckets[0], {
      accuracy: 3 / 5,
      precision: 1 / 2,
      recall: 1 / 2,
      f1: 1 / 2,
      positive_rate: 3 / 6,
    });

    const models = await service.get('/api/v1/models');
    expect(models.status).toBe(200);
    expect(models.body).toEqual({
      models: [
        {
          model_id: model,
          versions: [
            {
              version: 'cls',
              task: 'binary_classification',
              task_source: 'declared',
              positive_class: 'cat',
              stage: 'production',
              first_seen: '2026-03-02T00:00:00.000Z',
            },
            {
              version: 'reg',
              task: 'regression',
              task_source: 'inferred',
              positive_class: '1',
              stage: 'production',
              first_seen: '2026-03-02T00:00:00.000Z',
            },
          ],
        },
      ],
    });
  });

  it("infers a version's task from a prediction that did not fail when its first one did (no score)", async () => {
    const service = await startTestService();
    const time = Date.UTC(2026, 2, 2);
    const rows: Row[] = [
      { model: 'err-first', version: '1', id: 'e1', time, prediction: 1, error: true },
      { model: 'err-first', version: '1', id: 'e2', time, prediction: 1, score: 0.8 },
      { model: 'err-first', version: '1', id: 'e3', time, prediction: 0, score: 0.3 },
    ];
    // One key: one partition, in this order.
    await produce(service.config.topics.predictions, rows.map(predictionEvent), () => 'err-first');
    await waitForRows(service, 'predictions', 3);
    await waitForVersions(service, 'err-first', 1);
    const [version] = await service.rows<{ task: string }>(
      "SELECT task FROM model_versions FINAL WHERE model_id = 'err-first'",
    );
    expect(version?.task).toBe('binary_classification');
  });

  it('answers bad parameters with 400 naming the field, unknown models and versions with 404', async () => {
    const service = await startTestService();
    await produce(service.config.topics.predictions, [
      predictionEvent({ model: 'm', version: '1', id: 'x1', time: H1, prediction: 1, score: 0.5 }),
    ]);
    await waitForRows(service, 'predictions', 1);
    await waitForVersions(service, 'm', 1);
    const cases: [string, number, RegExp][] = [
      // Both routes take the same buckets (5m, 1h, 1d, 1w, month, <n>m|h|d up to 366 days); 2h is one of them.
      ['m/metrics?bucket=2x', 400, /querystring\/bucket/],
      ['m/metrics?bucket=400d', 400, /querystring\/bucket/],
      ['m/metrics?from=yesterday', 400, /querystring\/from/],
      ['m/metrics?to=2026-02-30T99:00', 400, /querystring\/to/],
      ['m/metrics?from=2026-03-03&to=2026-03-02', 400, /querystring\/from: must not be after to/],
      [
        'm/metrics?from=2020-01-01&to=2026-01-01&bucket=5m',
        400,
        /querystring\/from: the range holds \d+ 5m buckets; at most 10000/,
      ],
      ['nope/metrics', 404, /unknown model 'nope'/],
      ['m/metrics?version=9', 404, /model 'm' has no version '9'/],
    ];
    for (const [url, status, message] of cases) {
      const response = await service.get(`/api/v1/models/${url}`);
      expect(response.status, url).toBe(status);
      expect((response.body as { message: string }).message, url).toMatch(message);
    }
    // Defaults: 1h buckets, the 24 ending now — the 2026 event is outside, so no buckets.
    expect((await metrics(service, 'm/metrics')).buckets).toEqual([]);
    const withWeek = await metrics(service, `m/metrics?from=${H1}&to=${H1}&bucket=1w`);
    expect(withWeek.buckets.map((b) => [b.start, b.end, b.count])).toEqual([
      ['2026-03-02T00:00:00.000Z', '2026-03-09T00:00:00.000Z', 1],
    ]);

    // The routes and their schemas are in the OpenAPI document.
    const docs = await service.app.inject({ method: 'GET', url: '/docs/json' });
    const paths = docs.json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>().paths;
    expect(Object.keys(paths['/api/v1/models/{model}/metrics']?.['get']?.responses ?? {}).sort()).toEqual([
      '200',
      '400',
      '401',
      '403',
      '404',
      '429',
    ]);
    expect(paths['/api/v1/models']?.['get']).toBeDefined();
    expect(paths['/api/v1/models/{model}/versions/{version}']?.['patch']).toBeDefined();

    const patch = (url: string, payload: unknown) =>
      service.app.inject({
        method: 'PATCH',
        url,
        headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
        payload: payload as object,
      });
    const unknownField = await patch('/api/v1/models/m/versions/1', { owner: 'me' });
    expect([unknownField.statusCode, unknownField.json<{ message: string }>().message]).toEqual([
      400,
      'body/owner: not a correctable field (allowed: task, positive_class, stage)',
    ]);
    const badTask = await patch('/api/v1/models/m/versions/1', { task: 'ranking' });
    expect(badTask.statusCode).toBe(400);
    expect(badTask.json<{ message: string }>().message).toMatch(/body\/task/);
    expect((await patch('/api/v1/models/m/versions/9', { stage: 'archived' })).statusCode).toBe(404);
    const booleanClass = await patch('/api/v1/models/m/versions/1', {
      positive_class: 'true',
      stage: 'shadow',
    });
    expect(booleanClass.json()).toMatchObject({
      positive_class: '1',
      stage: 'shadow',
      task: 'binary_classification',
      task_source: 'inferred',
    });
  });

  it('exports modelwatch_model_quality gauges for the last complete bucket', async () => {
    const service = await startTestService();
    const { topics } = service.config;
    const rows: Row[] = [
      { model: 'g', version: '1', id: 'g1', time: H1 + 1000, prediction: 1, score: 0.9 },
      { model: 'g', version: '1', id: 'g2', time: H1 + 2000, prediction: 1, score: 0.4 },
      { model: 'g', version: '1', id: 'g3', time: H1 + 3000, prediction: 0, score: 0.6 },
      { model: 'g', version: '1', id: 'g4', time: H2 + 1000, prediction: 0, score: 0.1 },
    ];
    await produce(topics.predictions, rows.map(predictionEvent));
    await produce(topics.labels, [
      labelEvent({ id: 'g1', label: 1, time: H2 }),
      labelEvent({ id: 'g2', label: 0, time: H2 }),
      labelEvent({ id: 'g3', label: 1, time: H2 }),
    ]);
    await waitForRows(service, 'predictions', 4);
    await waitForRows(service, 'labels', 3);
    await waitForVersions(service, 'g', 1);
    // The service registers the gauge on its own registry.
    const scrape = await service.app.inject({ method: 'GET', url: '/metrics' });
    expect(scrape.body).toContain('# TYPE modelwatch_model_quality gauge');

    const registry = new Registry();
    const gauges = createQualityGauges({
      db: service.platform.db,
      models: service.use(models).registry,
      registry,
      logger: service.platform.logger,
      now: () => H2 + 5 * 60_000,
    });
    await gauges.refresh();
    const text = await registry.metrics();
    // H1 (the last complete hour at 11:05): TP g1, FP g2, FN g3; AUC: positives {0.9, 0.6} vs negative {0.4} = 1.
    expect(text).toContain(
      'modelwatch_model_quality{model="g",version="1",metric="accuracy"} 0.3333333333333333',
    );
    expect(text).toContain('modelwatch_model_quality{model="g",version="1",metric="precision"} 0.5');
    expect(text).toContain('modelwatch_model_quality{model="g",version="1",metric="recall"} 0.5');
    expect(text).toContain('modelwatch_model_quality{model="g",version="1",metric="roc_auc"} 1');
    expect(text).toContain('modelwatch_model_quality{model="g",version="1",metric="label_coverage"} 1');
    expect(text).toContain('modelwatch_model_quality{model="g",version="1",metric="labeled"} 3');
    expect(text).not.toContain('metric="mae"');
    // An hour later H2 is the last complete bucket: its one prediction has no label.
    const laterRegistry = new Registry();
    const later = createQualityGauges({
      db: service.platform.db,
      models: service.use(models).registry,
      registry: laterRegistry,
      logger: service.platform.logger,
      now: () => H2 + HOUR,
    });
    await later.refresh();
    const laterText = await laterRegistry.metrics();
    expect(laterText).toContain('modelwatch_model_quality{model="g",version="1",metric="label_coverage"} 0');
    expect(laterText).not.toContain('metric="accuracy"');
    // With labels a day late, the exported hour is a day older: H1 again, a day later.
    const delayedRegistry = new Registry();
    await createQualityGauges({
      db: service.platform.db,
      models: service.use(models).registry,
      registry: delayedRegistry,
      logger: service.platform.logger,
      now: () => H2 + 5 * 60_000 + 24 * HOUR,
      labelDelayMs: 24 * HOUR,
    }).refresh();
    expect(await delayedRegistry.metrics()).toContain(
      'modelwatch_model_quality{model="g",version="1",metric="accuracy"} 0.3333333333333333',
    );
    // The loop refreshes at once when started and is waited for when stopped.
    later.start();
    await later.stop();
  });
});
