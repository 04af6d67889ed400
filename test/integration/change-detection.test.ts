import { describe, expect, it } from 'vitest';
import { detectChanges } from '../../src/change-detection/page-hinkley.js';
import { mulberry32 } from '../../src/change-detection/streams.js';
import type { ChangeReport } from '../../src/change-detection/index.js';
import { Registry } from 'prom-client';
import { changeDetection } from '../../src/change-detection/index.js';
import { ChangeGauges } from '../../src/change-detection/gauges.js';
import { lossQuery } from '../../src/change-detection/loss-sql.js';
import { drift } from '../../src/drift/index.js';
import { models } from '../../src/models/index.js';
import { createLogger } from '../../src/platform/observability/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';

const T0 = Date.UTC(2026, 6, 1);
const MINUTE = 60_000;
const N = 3_000;
const CHANGE = 2_000;

/**
 * A binary classifier's predictions, one a minute, each labeled; the label disagrees with the
 * prediction with probability `errorRate(i)`. Region north carries the change alone when
 * `northOnly` (the others stay at 0.1).
 */
function stream(model: string, seed: number, errorRate: (i: number, region: string) => number) {
  const next = mulberry32(seed);
  const predictions: object[] = [];
  const labels: object[] = [];
  const losses = new Map<string, number[]>();
  for (let i = 0; i < N; i++) {
    const region = next() < 0.3 ? 'north' : 'south';
    const prediction = next() < 0.5 ? 1 : 0;
    const wrong = next() < errorRate(i, region) ? 1 : 0;
    const id = `${model}-${i}`;
    predictions.push({
      prediction_id: id,
      model_id: model,
      model_version: '1',
      timestamp: T0 + i * MINUTE,
      features: { region },
      prediction,
      score: prediction === 1 ? 0.7 : 0.3,
    });
    labels.push({
      prediction_id: id,
      model_id: model,
      label: wrong ? 1 - prediction : prediction,
      timestamp: T0 + i * MINUTE + 5,
    });
    for (const key of ['all', region]) losses.set(key, [...(losses.get(key) ?? []), wrong]);
  }
  return { predictions, labels, losses };
}

/** One labeled prediction a minute of `model` per [prediction, label] pair; `extra` adds fields. */
function labeledPairs(
  model: string,
  pairs: number[][],
  extra: (prediction: number) => object = () => ({}),
): { prediction: object; label: object }[] {
  return pairs.map(([prediction = 0, label], i) => ({
    prediction: {
      prediction_id: `${model}-${i}`,
      model_id: model,
      model_version: '1',
      timestamp: T0 + i * MINUTE,
      features: { a: i },
      prediction,
      ...extra(prediction),
    },
    label: { prediction_id: `${model}-${i}`, model_id: model, label, timestamp: T0 + i * MINUTE },
  }));
}

async function get(service: TestService, url: string) {
  const response = await service.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

describe('change detection on the per-prediction loss', () => {
  it('finds the jump in the error rate where the detector finds it in the same losses, per segment too; refuses bad parameters', async () => {
    const service = await startTestService();
    const changed = stream('flaky', 7, (i, region) => (i >= CHANGE && region === 'north' ? 0.5 : 0.1));
    const steady = stream('steady', 8, () => 0.1);
    const regression = Array.from({ length: 50 }, (_, i) => ({
      prediction: {
        prediction_id: `r-${i}`,
        model_id: 'reg',
        model_version: '1',
        timestamp: T0 + i * MINUTE,
        features: { a: i },
        prediction: i * 0.5,
      },
      label: {
        prediction_id: `r-${i}`,
        model_id: 'reg',
        label: i * 0.5 + (i % 3),
        timestamp: T0 + i * MINUTE,
      },
    }));
    // Finite predictions and labels whose absolute error overflows to infinity (JSON would carry it as null).
    const overflow = labeledPairs('overflow', [
      [1.5e308, -1.5e308],
      [1, 3],
    ]);
    // A binary classifier whose labels name the negative class -1 where it predicts 0: right or
    // wrong is positive (1) or not, as the metrics route's accuracy has it.
    const signed = labeledPairs(
      'signed',
      [
        [1, 1],
        [0, -1],
        [0, -1],
        [1, -1],
      ],
      (prediction) => ({ score: prediction === 1 ? 0.8 : 0.2 }),
    );
    // Finite absolute errors whose sum overflows: the mean is still theirs (Infinity went out as null).
    const huge = labeledPairs('huge', [
      [1e308, 0],
      [1e308, 0],
      [1e308, 0],
    ]);
    // A model id and version as long as the collectors accept (512): the route answers for them too.
    const longModel = 'm'.repeat(300);
    const longVersion = 'v'.repeat(300);
    const long = labeledPairs(
      longModel,
      [
        [1, 1],
        [1, 0],
      ],
      () => ({ model_version: longVersion, score: 0.9 }),
    );
    const others = [...regression, ...overflow, ...signed, ...huge, ...long];
    const predictions = [...changed.predictions, ...steady.predictions, ...others.map((r) => r.prediction)];
    const labels = [...changed.labels, ...steady.labels, ...others.map((r) => r.label)];
    await produce(service.config.topics.predictions, predictions, (i) => `p-${i}`);
    await produce(service.config.topics.labels, labels, (i) => `l-${i}`);
    await waitFor('predictions and labels stored', async () => {
      const [row] = await service.rows<{ p: number; l: number }>(
        'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
      );
      return Number(row?.p) === predictions.length && Number(row?.l) === labels.length ? true : undefined;
    });
    const range = `from=${T0}&to=${T0 + N * MINUTE}`;
    // The losses come one row per labeled prediction, in order, so the service streams them (one
    // row of arrays for the whole range passed V8's string limit with long ids).
    const head = await service.rows<{ t: number; prediction_id: string; v: number }>(
      lossQuery('binary_classification'),
      { model: 'flaky', version: '1', from: T0, to: T0 + N * MINUTE, limit: 5, positive: '1' },
    );
    expect(head).toEqual(
      changed.losses
        .get('all')!
        .slice(0, 5)
        .map((v, i) => ({ t: T0 + i * MINUTE, prediction_id: `flaky-${i}`, v })),
    );

    // The whole stream: the route's detections are the detector's on the same losses, in event-time order.
    const flaky = await get(service, `/api/v1/models/flaky/change-detection?${range}`);
    expect(flaky.status).toBe(200);
    const report = flaky.body as unknown as ChangeReport;
    const expected = detectChanges(changed.losses.get('all')!);
    expect(report).toMatchObject({ task: 'binary_classification', loss: 'zero_one', values: N });
    expect(report.parameters).toEqual({
      min_instances: 30,
      delta: 0.005,
      threshold: 50,
      alpha: 0.9999,
      mode: 'both',
    });
    expect(report.detections.map((d) => d.index)).toEqual(expected);
    const first = report.detections.find((d) => d.index >= CHANGE)!;
    expect(first).toBeDefined();
    expect(first.prediction_id).toBe(`flaky-${first.index}`);
    expect(first.timestamp).toBe(new Date(T0 + first.index * MINUTE).toISOString());
    expect(first.mean_after!).toBeGreaterThan(first.mean_before);

    // North alone carries the change: each region's answer is the detector's on that region's losses, and
    // south's has nothing after the change.
    const north = (
      await get(service, `/api/v1/models/flaky/change-detection?${range}&segment=feature:region&value=north`)
    ).body as unknown as ChangeReport;
    expect(north.values).toBe(changed.losses.get('north')!.length);
    expect(north.detections.map((d) => d.index)).toEqual(detectChanges(changed.losses.get('north')!));
    const south = (
      await get(service, `/api/v1/models/flaky/change-detection?${range}&segment=feature:region&value=south`)
    ).body as unknown as ChangeReport;
    expect(south.detections.map((d) => d.index)).toEqual(detectChanges(changed.losses.get('south')!));
    expect(south.detections.every((d) => d.timestamp < new Date(T0 + CHANGE * MINUTE).toISOString())).toBe(
      true,
    );

    // Stationary: whatever the detector finds in these losses (its false alarms), the route finds.
    const stationary = (await get(service, `/api/v1/models/steady/change-detection?${range}`))
      .body as unknown as ChangeReport;
    expect(stationary.detections.map((d) => d.index)).toEqual(detectChanges(steady.losses.get('all')!));
    const sensitive = (
      await get(service, `/api/v1/models/steady/change-detection?${range}&threshold=5&mode=up`)
    ).body as unknown as ChangeReport;
    expect(sensitive.detections.map((d) => d.index)).toEqual(
      detectChanges(steady.losses.get('all')!, { threshold: 5, mode: 'up' }),
    );
    expect(sensitive.detections.length).toBeGreaterThan(stationary.detections.length);

    // Regression: absolute error, its mean exact.
    const reg = (await get(service, `/api/v1/models/reg/change-detection?${range}`))
      .body as unknown as ChangeReport;
    expect(reg).toMatchObject({ task: 'regression', loss: 'absolute_error', values: 50 });
    expect(reg.mean_loss).toBeCloseTo(regression.reduce((s, _, i) => s + (i % 3), 0) / 50, 12);
    // An infinite loss is left out of the stream (as non-finite inputs are), not read as 0.
    expect((await get(service, `/api/v1/models/overflow/change-detection?${range}`)).body).toMatchObject({
      values: 1,
      mean_loss: 2,
    });

    expect((await get(service, `/api/v1/models/huge/change-detection?${range}`)).body).toMatchObject({
      task: 'regression',
      values: 3,
      mean_loss: 1e308,
    });
    const longAnswer = await get(
      service,
      `/api/v1/models/${longModel}/change-detection?${range}&version=${longVersion}`,
    );
    expect(longAnswer.status).toBe(200);
    expect(longAnswer.body).toMatchObject({ version: longVersion, values: 2, mean_loss: 0.5 });

    const signedLoss = (await get(service, `/api/v1/models/signed/change-detection?${range}`)).body;
    expect(signedLoss).toMatchObject({ task: 'binary_classification', values: 4, mean_loss: 0.25 });
    const signedMetrics = await get(service, `/api/v1/models/signed/metrics?${range}&bucket=month`);
    expect(signedMetrics.body).toMatchObject({ buckets: [{ accuracy: 0.75 }] });

    // The policy section sets the parameters; the query overrides them.
    const put = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/steady/policy',
      payload: { change_detection: { threshold: 5, mode: 'up' } },
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(put.statusCode).toBe(200);
    const byPolicy = (await get(service, `/api/v1/models/steady/change-detection?${range}`))
      .body as unknown as ChangeReport;
    expect(byPolicy.detections).toEqual(sensitive.detections);
    expect(
      (
        (await get(service, `/api/v1/models/steady/change-detection?${range}&threshold=50&mode=both`))
          .body as unknown as ChangeReport
      ).detections,
    ).toEqual(stationary.detections);
    // Gauges, for the models with a change_detection section, over its trailing window, from
    // stored rows only: a second instance (a restarted service) shows the same values at once.
    const flakyPolicy = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/flaky/policy',
      payload: { change_detection: { window: `${N}m` } },
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(flakyPolicy.statusCode).toBe(200);
    const cap = service.use(changeDetection);
    const gaugeValues = async (): Promise<Record<string, Record<string, number>>> => {
      const registry = new Registry();
      const gauges = new ChangeGauges({
        service: cap.service,
        models: service.use(models).registry,
        policy: async (model) =>
          (await service.use(drift).policies.get(model))?.sections['change_detection'] as object | undefined,
        registry,
        logger: createLogger('silent', 'test'),
        now: () => T0 + N * MINUTE,
      });
      await gauges.runOnce();
      return Object.fromEntries(
        (await registry.getMetricsAsJSON()).map((m) => [
          m.name,
          Object.fromEntries(
            (m.values as { labels: { model?: string }; value: number }[]).map((v) => [
              v.labels.model,
              v.value,
            ]),
          ),
        ]),
      );
    };
    const shown = await gaugeValues();
    const lastFlaky = report.detections[report.detections.length - 1]!;
    expect(shown['modelwatch_loss_changes']).toEqual({
      flaky: expected.length,
      steady: sensitive.detections.length,
    });
    expect(shown['modelwatch_loss_last_change_timestamp_seconds']!['flaky']).toBe(
      Date.parse(lastFlaky.timestamp) / 1000,
    );
    expect(shown['modelwatch_loss_mean_since_change']!['flaky']).toBeCloseTo(lastFlaky.mean_after!, 12);
    expect(await gaugeValues()).toEqual(shown);

    const badPolicy = await service.app.inject({
      method: 'PUT',
      url: '/api/v1/models/steady/policy',
      payload: { change_detection: { alpha: 0 } },
      headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
    });
    expect(badPolicy.statusCode).toBe(400);

    // Bad parameters: a 400 naming the parameter; unknown model or version: 404.
    const bad = async (query: string, field: string) => {
      const r = await get(service, `/api/v1/models/flaky/change-detection?${range}&${query}`);
      expect(r.status, query.slice(0, 40)).toBe(400);
      expect(String(r.body['message'])).toContain(field);
    };
    await bad('threshold=-1', 'querystring/threshold');
    await bad('threshold=1e999', 'querystring/threshold');
    await bad('threshold=abc', 'querystring/threshold');
    await bad('alpha=2', 'querystring/alpha');
    await bad('min_instances=0.5', 'querystring/min_instances');
    await bad('delta=-0.1', 'querystring/delta');
    await bad('mode=sideways', 'mode');
    await bad(`threshold=${'9'.repeat(10_000)}`, 'threshold');
    await bad('segment=feature:region', 'querystring/value');
    await bad('segment=nope&value=x', 'querystring/segment');
    await bad(`segment=feature:region&value=${'v'.repeat(5_000)}`, 'value');
    const reversed = await get(service, `/api/v1/models/flaky/change-detection?from=${T0 + MINUTE}&to=${T0}`);
    expect(reversed.status).toBe(400);
    expect(String(reversed.body['message'])).toContain('querystring/from');
    expect((await get(service, `/api/v1/models/nope/change-detection?${range}`)).status).toBe(404);
    expect((await get(service, `/api/v1/models/flaky/change-detection?${range}&version=9`)).status).toBe(404);
  }, 300_000);
});
