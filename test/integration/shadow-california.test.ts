import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { bundledModelFile, InferenceCore } from '../../src/inference/index.js';
import { capabilities } from '../../src/service/capabilities.js';
import { createShadow, type ShadowReport } from '../../src/shadow/index.js';
import { produce, waitFor } from '../support/harness.js';
import { californiaBody, CALIFORNIA_FEATURES, send } from '../support/registry.js';
import { startTestService } from '../support/service.js';
import { referenceMetrics, type RefLabel, type RefPrediction } from '../unit/metrics/reference.js';

/**
 * Production: the NannyML California analysis set's own predictions (y_pred, y_pred_proba), 8,232
 * hourly rows through Kafka, with their ground truth as labels. Challenger: the committed
 * california-logistic model, registered through the API. The route's figures are checked against
 * the same rows scored in the test by the core directly and aggregated by the test's reference.
 */

type Row = Record<
  (typeof CALIFORNIA_FEATURES)[number] | 'id' | 'timestamp' | 'y_pred_proba' | 'y_pred',
  string
>;
const csv = <T>(name: string): T[] =>
  parse<T>(readFileSync(new URL(`../fixtures/drift/${name}`, import.meta.url)), {
    columns: true,
    skip_empty_lines: true,
  });
const rows = csv<Row>('california_housing_analysis.csv');
const truth = new Map(
  csv<{ id: string; clf_target: string }>('california_housing_analysis_gt.csv').map((r) => [
    r.id,
    Number(r.clf_target),
  ]),
);
const time = (r: Row) => Date.parse(`${r.timestamp.replace(' ', 'T')}Z`);
const monthOf = (t: number) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth(), 1);

async function challengerScores(): Promise<{ labels: string[]; scores: number[] }> {
  const core = new InferenceCore();
  try {
    const model = await core.loadFile('test', bundledModelFile('california-logistic'));
    const result = await model.score(
      rows.map((r) => Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])]))),
    );
    expect(result.failures).toEqual([]);
    return { labels: result.labels.map(String), scores: [...result.scores] };
  } finally {
    await core.close();
  }
}

/** The logistic formula with the exported weights in float64, as a check that the core's scores are the model's (the graph computes in float32: 2.03e-6 at most here). */
function formula(r: Row): number {
  const { weights } = JSON.parse(
    readFileSync(new URL('../../data/models/california-logistic.expected.json', import.meta.url), 'utf8'),
  ) as {
    weights: { coef: number[]; intercept: number; scaler_mean: number[]; scaler_scale: number[] };
  };
  const z = CALIFORNIA_FEATURES.reduce(
    (sum, f, j) =>
      sum +
      (weights.coef[j] ?? 0) *
        ((Number(r[f]) - (weights.scaler_mean[j] ?? 0)) / (weights.scaler_scale[j] ?? 1)),
    weights.intercept,
  );
  return 1 / (1 + Math.exp(-z));
}

describe('shadow scoring of the California data through the broker', () => {
  it("reports the challenger's agreement, score differences and quality as computed independently", async () => {
    expect(rows).toHaveLength(8232);
    const shadowDefinition = createShadow({ refreshMs: 500 });
    const service = await startTestService(
      {},
      { capabilities: capabilities.map((c) => (c.name === 'shadow' ? shadowDefinition : c)) },
    );
    const registered = await send(
      service,
      'POST',
      '/api/v1/models/california/versions',
      californiaBody({ version: '2', stage: 'shadow' }),
    );
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    await service.use(shadowDefinition).refresh();

    const { topics } = service.config;
    await produce(
      topics.predictions,
      rows.map((r) => ({
        prediction_id: `cal-${r.id}`,
        model_id: 'california',
        model_version: '1',
        timestamp: time(r),
        features: Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])])),
        prediction: Number(r.y_pred),
        score: Number(r.y_pred_proba),
      })),
    );
    await produce(
      topics.labels,
      rows.map((r) => ({
        prediction_id: `cal-${r.id}`,
        label: truth.get(r.id),
        timestamp: time(r) + 86_400_000,
      })),
    );
    await waitFor(
      'every prediction shadow-scored and every label stored',
      async () => {
        const [c] = await service.rows<{ s: string; l: string }>(
          'SELECT (SELECT count() FROM shadow_scores FINAL) AS s, (SELECT count() FROM labels FINAL) AS l',
        );
        return Number(c?.s) === 8232 && Number(c?.l) === 8232 ? true : undefined;
      },
      90_000,
    );

    const response = await service.get(
      '/api/v1/models/california/shadow?from=2021-06-01&to=2022-06-01&bucket=month',
    );
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const report = response.body as ShadowReport;
    expect(report.challengers.map((c) => c.version)).toEqual(['2']);
    const buckets = report.challengers[0]?.buckets ?? [];

    const challenger = await challengerScores();
    rows.forEach((r, i) => expect(Math.abs((challenger.scores[i] ?? 0) - formula(r))).toBeLessThan(5e-6));
    const labels: RefLabel[] = rows.map((r) => ({
      id: `cal-${r.id}`,
      label: truth.get(r.id) ?? Number.NaN,
      time: time(r) + 86_400_000,
    }));
    const side = (
      pick: (r: Row, i: number) => { prediction: string | number; score: number },
    ): RefPrediction[] =>
      rows.map((r, i) => ({ id: `cal-${r.id}`, version: '2', time: time(r), ...pick(r, i) }));
    const options = { bucketOf: monthOf, taskOf: () => 'binary_classification' as const };
    const production = referenceMetrics(
      side((r) => ({ prediction: Number(r.y_pred), score: Number(r.y_pred_proba) })),
      labels,
      options,
    );
    const challenged = referenceMetrics(
      side((_, i) => ({ prediction: challenger.labels[i] ?? '', score: challenger.scores[i] ?? 0 })),
      labels,
      options,
    );

    expect(buckets.map((b) => b.start)).toEqual(production.map((p) => new Date(p.start).toISOString()));
    expect(buckets).toHaveLength(12);
    buckets.forEach((b, k) => {
      const inMonth = rows
        .map((r, i) => ({ r, i }))
        .filter(({ r }) => monthOf(time(r)) === Date.parse(b.start));
      const agree = inMonth.filter(({ r, i }) => challenger.labels[i] === r.y_pred).length / inMonth.length;
      const diffs = inMonth.map(({ r, i }) => Math.abs((challenger.scores[i] ?? 0) - Number(r.y_pred_proba)));
      expect([b.scored, b.failed, b.labeled], b.start).toEqual([inMonth.length, 0, inMonth.length]);
      expect(b.agreement, b.start).toBeCloseTo(agree, 12);
      expect(b.mean_abs_score_diff, b.start).toBeCloseTo(diffs.reduce((a, d) => a + d, 0) / diffs.length, 9);
      expect(b.max_abs_score_diff, b.start).toBeCloseTo(Math.max(...diffs), 9);
      for (const [got, want] of [
        [b.production, production[k]],
        [b.challenger, challenged[k]],
      ] as const) {
        for (const field of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'positive_rate'] as const) {
          const expected = want?.[field] ?? null;
          if (expected === null) expect(got[field], `${b.start} ${field}`).toBeNull();
          else expect(got[field], `${b.start} ${field}`).toBeCloseTo(expected, 9);
        }
      }
    });
    // Not vacuous: the two models differ, and the challenger is the better one on this set.
    expect(buckets.some((b) => (b.agreement ?? 1) < 0.95)).toBe(true);
    expect(
      buckets.filter((b) => (b.challenger.roc_auc ?? 0) > (b.production.roc_auc ?? 1)).length,
    ).toBeGreaterThan(0);

    // A replay does not double the shadow rows (same ids and event times).
    await produce(
      topics.predictions,
      rows.slice(0, 500).map((r) => ({
        prediction_id: `cal-${r.id}`,
        model_id: 'california',
        model_version: '1',
        timestamp: time(r),
        features: Object.fromEntries(CALIFORNIA_FEATURES.map((f) => [f, Number(r[f])])),
        prediction: Number(r.y_pred),
        score: Number(r.y_pred_proba),
      })),
    );
    await waitFor('the replay scored', async () => {
      const [c] = await service.rows<{ n: string }>('SELECT count() AS n FROM shadow_scores');
      return Number(c?.n) >= 8732 ? true : undefined;
    });
    const [final] = await service.rows<{ n: string }>('SELECT count() AS n FROM shadow_scores FINAL');
    expect(Number(final?.n)).toBe(8232);
  }, 180_000);
});
