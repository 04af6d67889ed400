import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { bundledModelFile, InferenceCore } from '../../src/inference/index.js';
import { capabilities } from '../../src/service/capabilities.js';
import { createShadow, type ShadowReport } from '../../src/shadow/index.js';
import { produce, waitFor } from '../support/harness.js';
import { bundledArtifact, send } from '../support/registry.js';
import { startTestService } from '../support/service.js';
import { referenceMetrics, type RefLabel, type RefPrediction } from '../unit/metrics/reference.js';

/**
 * A regression challenger through the broker: production predicts MedInc with a crude baseline
 * (0.6 × AveRooms), the committed california-income-regression model is registered as the
 * challenger, labels are the true MedInc. The route's MAE, RMSE, MAPE and R² on both sides and
 * the value differences equal the test's reference on the same rows scored by the core directly.
 */
const FEATURES = ['HouseAge', 'AveRooms', 'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude'];
type Row = Record<string, string>;
const rows = parse<Row>(
  readFileSync(new URL('../fixtures/drift/california_housing_analysis.csv', import.meta.url)),
  { columns: true, skip_empty_lines: true },
).slice(0, 3000);
const time = (r: Row) => Date.parse(`${(r['timestamp'] ?? '').replace(' ', 'T')}Z`);
const monthOf = (t: number) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth(), 1);
const features = (r: Row) => Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])]));
const baseline = (r: Row) => Math.round(0.6 * Number(r['AveRooms']) * 1e6) / 1e6;

describe('a regression challenger in shadow', () => {
  it('reports MAE, RMSE, MAPE, R² and value differences as computed independently; no agreement', async () => {
    const definition = createShadow({ refreshMs: 500 });
    const service = await startTestService(
      {},
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? definition : c)) },
    );
    const registered = await send(service, 'POST', '/api/v1/models/income/versions', {
      version: '2',
      stage: 'shadow',
      task: 'regression',
      features: FEATURES.map((name) => ({ name, type: 'number' })),
      artifact: {
        format: 'onnx',
        base64: bundledArtifact('california-income-regression').toString('base64'),
      },
      training_data: {
        uri: 'file://test/fixtures/drift/california_housing_reference.csv',
        sha256: 'b'.repeat(64),
      },
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    expect(registered.body).toMatchObject({ task: 'regression', stage: 'shadow' });
    // A regression body with classes is refused, naming the field.
    const withClasses = await send(service, 'POST', '/api/v1/models/income/versions', {
      version: '3',
      stage: 'shadow',
      task: 'regression',
      classes: ['0', '1'],
      features: FEATURES.map((name) => ({ name, type: 'number' })),
      artifact: {
        format: 'onnx',
        base64: bundledArtifact('california-income-regression').toString('base64'),
      },
      training_data: { uri: 'file://x', sha256: 'b'.repeat(64) },
    });
    expect([withClasses.status, withClasses.body.message]).toEqual([
      400,
      expect.stringMatching(/metadata\.classes: a regression model has no classes/),
    ]);
    await service.use(definition).refresh();

    const { topics } = service.config;
    await produce(
      topics.predictions,
      rows.map((r) => ({
        prediction_id: `inc-${r['id']}`,
        model_id: 'income',
        model_version: '1',
        timestamp: time(r),
        features: features(r),
        prediction: baseline(r),
      })),
    );
    await produce(
      topics.labels,
      rows.map((r) => ({
        prediction_id: `inc-${r['id']}`,
        label: Number(r['MedInc']),
        timestamp: time(r) + 3_600_000,
      })),
    );
    await waitFor(
      'every prediction shadow-scored and every label stored',
      async () => {
        const [c] = await service.rows<{ s: string; l: string }>(
          'SELECT (SELECT count() FROM shadow_scores FINAL) AS s, (SELECT count() FROM labels FINAL) AS l',
        );
        return Number(c?.s) === rows.length && Number(c?.l) === rows.length ? true : undefined;
      },
      90_000,
    );
    const response = await service.get(
      '/api/v1/models/income/shadow?from=2020-01-01&to=2023-01-01&bucket=month',
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const report = response.body as ShadowReport;
    expect(report.challengers.map((c) => c.version)).toEqual(['2']);
    const buckets = report.challengers[0]?.buckets ?? [];

    const core = new InferenceCore();
    const model = await core.loadFile('test', bundledModelFile('california-income-regression'));
    const scored = await model.score(rows.map(features));
    await core.close();
    expect(scored.failures).toEqual([]);
    const values = [...scored.scores];

    const labels: RefLabel[] = rows.map((r) => ({
      id: `inc-${r['id']}`,
      label: Number(r['MedInc']),
      time: time(r) + 3_600_000,
    }));
    const side = (prediction: (r: Row, i: number) => number): RefPrediction[] =>
      rows.map((r, i) => ({
        id: `inc-${r['id']}`,
        version: '2',
        time: time(r),
        prediction: prediction(r, i),
      }));
    const options = { bucketOf: monthOf, taskOf: () => 'regression' as const };
    const production = referenceMetrics(side(baseline), labels, options);
    const challenger = referenceMetrics(
      side((_, i) => values[i] ?? Number.NaN),
      labels,
      options,
    );
    expect(buckets.length).toBeGreaterThan(2);
    expect(buckets.map((b) => b.start)).toEqual(production.map((p) => new Date(p.start).toISOString()));
    buckets.forEach((b, k) => {
      const inMonth = rows
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => monthOf(time(r)) === Date.parse(b.start));
      const diffs = inMonth.map(({ r, i }) => Math.abs((values[i] ?? 0) - baseline(r)));
      expect([b.scored, b.failed, b.labeled, b.agreement], b.start).toEqual([
        inMonth.length,
        0,
        inMonth.length,
        null,
      ]);
      // Stored as Float64 from the core's float32 output: equal to the last digit the core gives.
      expect(b.mean_abs_score_diff, b.start).toBeCloseTo(diffs.reduce((a, d) => a + d, 0) / diffs.length, 9);
      expect(b.max_abs_score_diff, b.start).toBeCloseTo(Math.max(...diffs), 9);
      for (const [got, want] of [
        [b.production, production[k]],
        [b.challenger, challenger[k]],
      ] as const) {
        for (const field of ['mae', 'rmse', 'mape', 'r2'] as const) {
          expect(got[field], `${b.start} ${field}`).toBeCloseTo(want?.[field] ?? Number.NaN, 9);
        }
        expect([got.accuracy, got.roc_auc], b.start).toEqual([null, null]);
      }
    });
    // Not vacuous: the two sides differ in every bucket, and the values differ from production's.
    expect(
      buckets.every((b) => b.challenger.mae !== b.production.mae && (b.mean_abs_score_diff ?? 0) > 0.1),
    ).toBe(true);
  }, 180_000);
});
