import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { models } from '../../src/models/index.js';
import { performanceEstimation, type EstimatedPerformance } from '../../src/performance-estimation/index.js';
import { EstimationGauges } from '../../src/performance-estimation/service/gauges.js';
import { parseBucket } from '../../src/platform/time/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { storedTriggers } from '../support/triggers.js';
import { triggers } from '../../src/triggers/index.js';
import { FEATURES } from '../../src/simulator/data.js';

/**
 * NannyML's California housing data through Kafka (test/fixtures/drift/README.md): the reference
 * period Oct 2020 – May 2021 with its labels, the analysis period Jun 2021 – May 2022. The expected
 * values are NannyML 0.13.1's CBPE on the same files (tools/cbpe/expected.py →
 * test/fixtures/cbpe/california-cbpe.json).
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const METRICS = ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'] as const;

interface NannymlMonth {
  start: string;
  count: number;
  [metric: string]: unknown;
}
interface NannymlMetric {
  estimated: number | null;
  realized: number | null;
  lower_threshold: number | null;
  upper_threshold: number | null;
  alert: boolean;
}
const expected = JSON.parse(readFileSync(path.join(fixtures, 'cbpe/california-cbpe.json'), 'utf8')) as {
  needs_calibration: boolean;
  calibrator: { x: number[]; y: number[] };
  months: NannymlMonth[];
};

function csv(name: string): Record<string, string>[] {
  return parse<Record<string, string>>(readFileSync(path.join(fixtures, 'drift', name)), { columns: true });
}
const utc = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);

async function put(service: TestService, url: string, payload: object) {
  const response = await service.app.inject({
    method: 'PUT',
    url,
    payload,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

async function playCalifornia(service: TestService): Promise<number> {
  const reference = csv('california_housing_reference.csv');
  const analysisLabels = new Map(
    csv('california_housing_analysis_gt.csv').map((r) => [r['id'], r['clf_target']]),
  );
  const analysis = csv('california_housing_analysis.csv').map((r) => ({
    ...r,
    clf_target: analysisLabels.get(r['id']),
  }));
  const rows: Record<string, string | undefined>[] = [...reference, ...analysis];
  await produce(
    service.config.topics.predictions,
    rows.map((r) => ({
      prediction_id: `c-${r['id']}`,
      model_id: 'california',
      model_version: '1',
      timestamp: utc(r['timestamp'] ?? ''),
      features: Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r['y_pred']),
      score: Number(r['y_pred_proba']),
    })),
    (i) => `c-${i}`,
  );
  // Labels three days after each prediction.
  await produce(
    service.config.topics.labels,
    rows.map((r) => ({
      prediction_id: `c-${r['id']}`,
      label: Number(r['clf_target']),
      timestamp: utc(r['timestamp'] ?? '') + 3 * 86_400_000,
    })),
  );
  await waitFor('California stored', async () => {
    const [row] = await service.rows<{ p: number; l: number; v: number }>(
      `SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l,
              (SELECT count() FROM model_versions FINAL WHERE model_id = 'california') AS v`,
    );
    return row?.p === rows.length && row.l === rows.length && row.v === 1 ? true : undefined;
  });
  return rows.length;
}

describe('CBPE on the NannyML California housing data', () => {
  it('estimates every month as NannyML 0.13.1, with its band, alerts and the realized figures', async () => {
    const service = await startTestService();
    expect(await playCalifornia(service)).toBe(5832 + 8232);

    const url = '/api/v1/models/california/estimated-performance?from=2021-06-01&to=2022-06-01&bucket=month';
    const before = await service.get(url);
    expect(before.status).toBe(409);
    expect((before.body as { message: string }).message).toMatch(
      /no drift reference taken from a time range/,
    );

    const set = await put(service, '/api/v1/models/california/versions/1/reference', {
      from: '2020-10-01',
      to: '2021-06-01',
    });
    expect(set.status).toBe(200);

    const response = await service.get(url);
    expect(response.status).toBe(200);
    const result = response.body as EstimatedPerformance;
    expect(result).toMatchObject({
      model_id: 'california',
      version: '1',
      method: 'cbpe',
      calibrated: expected.needs_calibration,
      reference: {
        from: '2020-10-01T00:00:00.000Z',
        to: '2021-06-01T00:00:00.000Z',
        rows: 5832,
        calibration_reason: 'ece',
      },
    });
    expect(result.calibrated).toBe(true);
    const stored = await service.rows<{ thresholds: number[]; values: number[] }>(
      "SELECT thresholds, values FROM cbpe_calibrator_fits FINAL WHERE model_id = 'california'",
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]!.thresholds).toEqual(expected.calibrator.x);
    expect(stored[0]!.values).toHaveLength(expected.calibrator.y.length);
    stored[0]!.values.forEach((v, i) => expect(v).toBeCloseTo(expected.calibrator.y[i]!, 14));

    // NannyML's published CBPE ROC AUC for the California data.
    const byStart = new Map(result.buckets.map((b) => [b.start, b]));
    expect(byStart.get('2022-03-01T00:00:00.000Z')!.estimated.roc_auc).toBeCloseTo(0.829077, 6);
    expect(byStart.get('2022-04-01T00:00:00.000Z')!.estimated.roc_auc).toBeCloseTo(0.910661, 6);

    expect(result.buckets.map((b) => [b.start, b.count])).toEqual(
      expected.months.map((m) => [m.start, m.count]),
    );
    let largest = 0;
    result.buckets.forEach((bucket, i) => {
      const month = expected.months[i]!;
      for (const metric of METRICS) {
        const want = month[metric] as NannymlMetric;
        const got = bucket.estimated[metric];
        expect(got, `${month.start} ${metric}`).not.toBeNull();
        largest = Math.max(largest, Math.abs(got! - want.estimated!));
        expect(Math.abs(got! - want.estimated!), `${month.start} ${metric}`).toBeLessThan(1e-9);
        expect(bucket.band[metric], `${month.start} ${metric} band`).not.toBeNull();
        expect(bucket.band[metric]![0]).toBeCloseTo(want.lower_threshold!, 12);
        expect(bucket.band[metric]![1]).toBeCloseTo(want.upper_threshold!, 12);
        expect(bucket.alerts.includes(metric), `${month.start} ${metric} alert`).toBe(want.alert);
      }
      // Realized: the metrics route's figures (NannyML's are the same where both are defined).
      for (const metric of ['roc_auc', 'accuracy'] as const)
        expect(bucket.realized?.[metric]).toBeCloseTo((month[metric] as NannymlMetric).realized!, 12);
    });
    expect(largest).toBeLessThan(1e-9);
    // September 2021's estimated ROC AUC leaves the reference band, as NannyML reports.
    expect(byStart.get('2021-09-01T00:00:00.000Z')!.alerts).toContain('roc_auc');

    // The gauge over a past month, through the same service.
    const registry = new Registry();
    const capability = service.use(performanceEstimation);
    const gauges = new EstimationGauges({
      service: capability.service,
      models: service.use(models).registry,
      registry,
      logger: service.platform.logger,
      bucket: parseBucket('month')!,
      now: () => Date.parse('2022-04-15T00:00:00Z'),
    });
    await gauges.runOnce();
    await gauges.stop();
    const metric = await registry.getSingleMetric('modelwatch_estimated_quality')!.get();
    const auc = metric.values.find((v) => v.labels['metric'] === 'roc_auc');
    expect(auc?.labels).toEqual({ model: 'california', version: '1', metric: 'roc_auc' });
    expect(auc?.value).toBeCloseTo(0.829077, 6);
    expect(metric.values).toHaveLength(5);
  });

  it('fires a retrain trigger on the estimates alone (performance.estimated: true)', async () => {
    const service = await startTestService();
    await playCalifornia(service);
    expect(
      (
        await put(service, '/api/v1/models/california/versions/1/reference', {
          from: '2020-10-01',
          to: '2021-06-01',
        })
      ).status,
    ).toBe(200);
    const refused = await put(service, '/api/v1/models/california/policy', {
      retrain: { performance: { metric: 'r2', min: 0.5, estimated: true } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body['message']).toMatch(/estimated covers roc_auc, accuracy, precision, recall, f1/);
    const performance = { metric: 'roc_auc', min: 0.75, estimated: true };
    const set = await put(service, '/api/v1/models/california/policy', {
      drift: { evaluation_window: 'month', allowed_lateness: '0s' },
      retrain: { performance },
    });
    expect(set.status).toBe(200);
    await service.use(triggers).evaluator.runOnce();
    const fired = await storedTriggers(service, 'california');
    // Estimated ROC AUC under 0.75: August (0.7093) and September 2021 (0.6643). The realized
    // figures would also fire November 2021 (0.7315) and March 2022 (0.7049).
    expect(fired.map((t) => t.window.start).sort()).toEqual([
      '2021-08-01T00:00:00.000Z',
      '2021-09-01T00:00:00.000Z',
    ]);
    const september = fired.find((t) => t.window.start.startsWith('2021-09'))!;
    expect(september.evidence).toMatchObject({
      metric: 'roc_auc',
      estimated: true,
      method: 'cbpe',
      count: 720,
      labeled: 720,
    });
    const want = (expected.months[3]!['roc_auc'] as NannymlMetric).estimated!;
    expect(september.evidence['value']).toBeCloseTo(want, 9);
    expect(september.policy).toEqual({ performance });
  });
});
