import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { FEATURES } from '../../src/simulator/data.js';

/**
 * The NannyML California housing data (test/fixtures/drift/README.md) through Kafka, against a
 * reference uploaded as rows; the statistics are compared with SciPy's on the same data.
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/drift');

function csv(name: string): Record<string, string>[] {
  return parse<Record<string, string>>(readFileSync(path.join(fixtures, name)), { columns: true });
}
const utc = (t: string) => Date.parse(`${t.replace(' ', 'T')}Z`);

async function put(service: TestService, url: string, payload: unknown) {
  const response = await service.app.inject({
    method: 'PUT',
    url,
    payload: payload as object,
    headers: { authorization: `Bearer ${service.config.api.adminKey ?? ''}` },
  });
  return { status: response.statusCode, body: response.json<Record<string, unknown>>() };
}

interface Column {
  column: string;
  role: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  drifted: boolean;
  count: number;
}
interface Report {
  buckets: {
    start: string;
    end: string;
    count: number;
    drift_share: number;
    dataset_drift: boolean;
    columns: Column[];
  }[];
}

describe('drift on the NannyML California housing data', () => {
  it('matches SciPy for every method, and flags Latitude and Longitude in every month', async () => {
    const service = await startTestService();
    const analysis = csv('california_housing_analysis.csv');
    const labels = new Map(
      csv('california_housing_analysis_gt.csv').map((r) => [r['id'], Number(r['clf_target'])]),
    );
    await produce(
      service.config.topics.predictions,
      analysis.map((r) => ({
        prediction_id: `c-${r['id']}`,
        model_id: 'california',
        model_version: '1',
        timestamp: utc(r['timestamp']!),
        features: Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
        prediction: Number(r['y_pred']),
        score: Number(r['y_pred_proba']),
      })),
      (i) => `c-${i}`,
    );
    await produce(
      service.config.topics.labels,
      analysis.map((r) => ({
        prediction_id: `c-${r['id']}`,
        label: labels.get(r['id']),
        timestamp: utc(r['timestamp']!) + 86_400_000,
      })),
    );
    await waitFor('the analysis period stored', async () => {
      const [row] = await service.rows<{ p: number; l: number }>(
        'SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l',
      );
      return row?.p === analysis.length && row.l === analysis.length ? true : undefined;
    });

    const reference = csv('california_housing_reference.csv').map((r) => ({
      ...Object.fromEntries(FEATURES.map((f) => [f, Number(r[f])])),
      prediction: Number(r['y_pred']),
      score: Number(r['y_pred_proba']),
      label: Number(r['clf_target']),
    }));
    const set = await put(service, '/api/v1/models/california/versions/1/reference', { rows: reference });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ source: 'rows', rows: 5832 });

    const range = 'from=2021-06-01&to=2022-06-01';
    const report = async (query: string) => {
      const response = await service.get(`/api/v1/models/california/drift?${range}${query}`);
      expect(response.status).toBe(200);
      return response.body as Report;
    };
    const whole = async (method: string) => {
      const r = await report(`&method=${method}`);
      expect(r.buckets).toHaveLength(1);
      expect(r.buckets[0]).toMatchObject({
        start: '2021-06-01T00:00:00.000Z',
        end: '2022-06-01T00:00:00.000Z',
        count: 8232,
      });
      return (column: string) => r.buckets[0]!.columns.find((c) => c.column === column)!;
    };

    // Expected values: SciPy 1.17 / NumPy 2.4 on the same CSV files, e.g.
    // stats.ks_2samp(ref[c], cur[c], method='exact'); stats.wasserstein_distance(ref[c], cur[c]) / np.std(ref[c]);
    // psi and JS over np.quantile(ref[c], [.1, …, .9]) edges (np.unique, searchsorted side='right'), JS with
    // scipy.spatial.distance.jensenshannon; stats.chisquare(cur_counts, ref_counts * n_cur / n_ref).
    const ks = await whole('ks');
    expect(ks('Latitude')).toMatchObject({ method: 'ks', p_value: 0, drifted: true, count: 8232 });
    expect(ks('Latitude').statistic).toBeCloseTo(0.5070241794542626, 14);
    expect(ks('MedInc').statistic).toBeCloseTo(0.06874657564377896, 14);
    expect(ks('MedInc').p_value! / 1.7878339253048155e-14).toBeCloseTo(1, 9);
    expect(ks('Population').statistic).toBeCloseTo(0.021119029622430983, 14);
    expect(ks('Population').p_value).toBeCloseTo(0.09347256013494426, 12);
    expect(ks('Population').drifted).toBe(false);
    expect(ks('score').statistic).toBeCloseTo(0.24782490891712358, 14);
    expect(ks('score').p_value! / 1.5393651347971645e-184).toBeCloseTo(1, 9);

    const wasserstein = await whole('wasserstein');
    expect(wasserstein('Longitude').statistic).toBeCloseTo(1.243107242081922, 12);
    expect(wasserstein('AveBedrms').statistic).toBeCloseTo(0.03520400078126979, 12);

    const psi = await whole('psi');
    expect(psi('Latitude').statistic).toBeCloseTo(3.7541688433006777, 12);
    expect(psi('HouseAge').statistic).toBeCloseTo(0.0812119969971644, 12);
    expect(psi('prediction').statistic).toBeCloseTo(0.26258085174243234, 12);

    const js = await whole('jensenshannon');
    expect(js('Longitude').statistic).toBeCloseTo(0.5723828041187125, 12);
    expect(js('label').statistic).toBeCloseTo(0.08106255194517292, 12);

    const chi2 = await whole('chi2');
    expect(chi2('prediction')).toMatchObject({
      role: 'prediction',
      method: 'chi2',
      p_value: 0,
      drifted: true,
    });
    expect(chi2('prediction').statistic).toBeCloseTo(1588.8698870739606, 9);
    expect(chi2('label')).toMatchObject({ role: 'label', method: 'chi2', drifted: true, count: 8232 });
    expect(chi2('label').statistic).toBeCloseTo(454.6821218771621, 9);
    expect(chi2('label').p_value! / 6.905066760269909e-101).toBeCloseTo(1, 6);

    // By month, with the default methods (5832 reference rows: wasserstein, jensenshannon).
    const monthly = await report('&bucket=month');
    expect(monthly.buckets).toHaveLength(12);
    expect(monthly.buckets.reduce((s, b) => s + b.count, 0)).toBe(8232);
    for (const bucket of monthly.buckets) {
      const drifted = bucket.columns.filter((c) => c.role === 'feature' && c.drifted).map((c) => c.column);
      expect(drifted).toEqual(expect.arrayContaining(['Latitude', 'Longitude']));
      expect(bucket.columns.find((c) => c.column === 'Latitude')!.method).toBe('wasserstein');
    }
  });
});
