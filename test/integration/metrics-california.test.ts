import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ModelMetrics } from '../../src/metrics/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService } from '../support/service.js';
import {
  referenceMetrics,
  type RefBucket,
  type RefLabel,
  type RefPrediction,
} from '../unit/metrics/reference.js';
import { FEATURES } from '../../src/simulator/data.js';

/**
 * The NannyML California housing analysis set (test/fixtures/README.md): a real binary
 * classifier's hourly predictions, June to September 2021, replayed through Kafka with its
 * ground truth as labels, and every metric compared with the reference implementation.
 */

type AnalysisRow = Record<(typeof FEATURES)[number] | 'id' | 'timestamp' | 'y_pred_proba' | 'y_pred', string>;

function readCsv<T>(name: string): T[] {
  return parse<T>(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)), {
    columns: true,
    skip_empty_lines: true,
  });
}

const analysis = readCsv<AnalysisRow>('california_housing_analysis.csv');
const truth = new Map(
  readCsv<{ id: string; clf_target: string }>('california_housing_analysis_gt.csv').map((r) => [
    r.id,
    Number(r.clf_target),
  ]),
);

const predictions: RefPrediction[] = analysis.map((r) => ({
  id: `cal-${r.id}`,
  version: '1',
  time: Date.parse(`${r.timestamp.replace(' ', 'T')}Z`),
  prediction: Number(r.y_pred),
  score: Number(r.y_pred_proba),
}));
// Labels known a week after each prediction.
const labels: RefLabel[] = analysis.map((r) => ({
  id: `cal-${r.id}`,
  label: truth.get(r.id) ?? Number.NaN,
  time: Date.parse(`${r.timestamp.replace(' ', 'T')}Z`) + 7 * 86_400_000,
}));

const DAY = 86_400_000;
const bucketOf: Record<'1d' | '1w' | 'month', (t: number) => number> = {
  '1d': (t) => t - (t % DAY),
  '1w': (t) => {
    const day = t - (t % DAY);
    return day - ((new Date(day).getUTCDay() + 6) % 7) * DAY;
  },
  month: (t) => Date.UTC(new Date(t).getUTCFullYear(), new Date(t).getUTCMonth(), 1),
};

describe('California housing (NannyML) through the pipeline', () => {
  it('matches the reference per month, ISO week and day, and scikit-learn per month', async () => {
    expect(predictions).toHaveLength(2928);
    expect(labels.every((l) => l.label === 0 || l.label === 1)).toBe(true);
    const service = await startTestService();
    const { topics } = service.config;
    await produce(
      topics.predictions,
      analysis.map((r, i) => ({
        prediction_id: `cal-${r.id}`,
        model_id: 'california',
        model_version: '1',
        timestamp: `${r.timestamp.replace(' ', 'T')}Z`,
        features: Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
        prediction: predictions[i]?.prediction,
        score: predictions[i]?.score,
      })),
    );
    await produce(
      topics.labels,
      labels.map((l) => ({ prediction_id: l.id, label: l.label, timestamp: l.time })),
    );
    await waitFor('all rows stored', async () => {
      const [row] = await service.rows<{ p: number; l: number }>(
        'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
      );
      return row?.p === 2928 && row.l === 2928 ? true : undefined;
    });
    // The version is registered after its first predictions are stored.
    await waitFor('the version registered', async () => {
      const [row] = await service.rows<{ c: number }>(
        "SELECT count() AS c FROM model_versions FINAL WHERE model_id = 'california'",
      );
      return row?.c === 1 ? true : undefined;
    });

    const results: Record<string, ModelMetrics> = {};
    for (const bucket of ['month', '1w', '1d'] as const) {
      const response = await service.get(
        `/api/v1/models/california/metrics?from=2021-06-01&to=2021-10-01&bucket=${bucket}`,
      );
      expect(response.status).toBe(200);
      const result = response.body as ModelMetrics;
      results[bucket] = result;
      const expected = referenceMetrics(predictions, labels, {
        bucketOf: bucketOf[bucket],
        taskOf: () => 'binary_classification',
      });
      expect(result.buckets.map((b) => b.start)).toEqual(
        expected.map((e) => new Date(e.start).toISOString()),
      );
      result.buckets.forEach((b, i) => {
        const e = expected[i] as RefBucket;
        expect(
          [b.task, b.count, b.labeled, b.label_coverage, b.error_rate, b.latency_ms.p50],
          b.start,
        ).toEqual(['binary_classification', e.count, e.labeled, 1, 0, null]);
        for (const field of ['accuracy', 'precision', 'recall', 'f1', 'roc_auc', 'positive_rate'] as const) {
          if (e[field] === null) expect(b[field], `${bucket} ${b.start} ${field}`).toBeNull();
          else expect(b[field], `${bucket} ${b.start} ${field}`).toBeCloseTo(e[field], 12);
        }
        expect([b.macro_f1, b.mae, b.rmse, b.mape, b.r2]).toEqual([null, null, null, null, null]);
      });
    }

    // scikit-learn 1.9.1 offline on the same rows per month: roc_auc_score(clf_target, y_pred_proba),
    // f1_score, accuracy_score, recall_score (clf_target, y_pred).
    const sklearn = [
      {
        start: '2021-06-01T00:00:00.000Z',
        count: 720,
        roc_auc: 0.8841747899159664,
        f1: 0.27631578947368424,
        accuracy: 0.8472222222222222,
        recall: 0.168,
      },
      {
        start: '2021-07-01T00:00:00.000Z',
        count: 744,
        roc_auc: 0.7600624192854067,
        f1: 0.0425531914893617,
        accuracy: 0.8185483870967742,
        recall: 0.021739130434782608,
      },
      {
        start: '2021-08-01T00:00:00.000Z',
        count: 744,
        roc_auc: 0.7043246137035327,
        f1: 0,
        accuracy: 0.5604838709677419,
        recall: 0,
      },
      {
        start: '2021-09-01T00:00:00.000Z',
        count: 720,
        roc_auc: 0.6697719688542827,
        f1: 0,
        accuracy: 0.5166666666666667,
        recall: 0,
      },
    ];
    const months = results['month']?.buckets ?? [];
    expect(months).toHaveLength(4);
    sklearn.forEach((s, i) => {
      const b = months[i];
      expect([b?.start, b?.count]).toEqual([s.start, s.count]);
      for (const field of ['roc_auc', 'f1', 'accuracy', 'recall'] as const)
        expect(b?.[field], `${s.start} ${field}`).toBeCloseTo(s[field], 12);
    });
    // June's precision: scikit-learn 0.7777777777777778. In August and September the model
    // predicts no positive at all: precision is undefined (scikit-learn reports 0 with a warning; we report null).
    expect(months[0]?.precision).toBeCloseTo(0.7777777777777778, 12);
    expect([months[2]?.precision, months[3]?.precision, months[2]?.positive_rate]).toEqual([null, null, 0]);
    // The performance drop NannyML documents for this set is visible.
    expect(months.map((m) => m.roc_auc)).toEqual(
      [...months.map((m) => m.roc_auc)].sort((a, b) => (b ?? 0) - (a ?? 0)),
    );
  });
});
