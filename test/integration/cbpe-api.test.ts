import { describe, expect, it } from 'vitest';
import { fitIsotonic, predictIsotonic } from '../../src/performance-estimation/calibration/isotonic.js';
import { needsCalibration } from '../../src/performance-estimation/calibration/needs-calibration.js';
import { ESTIMATED_METRICS, estimate, type Estimates } from '../../src/performance-estimation/estimators.js';
import type { EstimatedPerformance } from '../../src/performance-estimation/index.js';
import { ModelRegistry } from '../../src/models/index.js';
import { nannymlRealized, referenceBands } from '../../src/performance-estimation/service/band.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { send } from '../support/registry.js';
import { put } from '../support/triggers.js';

/**
 * The estimates ClickHouse computes equal the TypeScript definitions (tested against NannyML in
 * test/unit/performance-estimation) on data with ties, scores exactly 0 and 1, a calibrated and an
 * uncalibrated version (one class in its reference); and the route's answers to bad requests.
 * Then the band and alerts (review s21): none from a one-bucket reference, NannyML's realized
 * values over a reference of several buckets, none for precision/recall/F1 of a one-class
 * reference; no estimates from uncalibrated scores outside [0, 1]; and a calibrator refitted when
 * the reference period's labels land after it was first fitted.
 */
const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
const STEP = 4 * 60_000;

/** A small deterministic generator (LCG), so the data is the same on every run. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Row {
  id: string;
  version: string;
  time: number;
  score: number;
  label: number | undefined;
}

function rowsOf(version: string, labelOf: (score: number, u: number) => number): Row[] {
  const random = lcg(version === '1' ? 11 : 29);
  const rows: Row[] = [];
  for (let day = 0; day < 3; day++) {
    for (let k = 0; k < 300; k++) {
      const u = random();
      // Two decimals, with a run of exact 0s and 1s: ties everywhere.
      const score = k % 25 === 0 ? 0 : k % 25 === 1 ? 1 : Math.round(random() * 100) / 100;
      rows.push({
        id: `v${version}-${day}-${k}`,
        version,
        time: T0 + day * DAY + k * STEP,
        score,
        label: day === 0 ? labelOf(score, u) : undefined,
      });
    }
  }
  return rows;
}

const calibrated = rowsOf('1', (score, u) => (u < score ** 2 ? 1 : 0));
const oneClass = rowsOf('2', () => 0);
/** Logit-like scores in [-2, 3] under model `logits`, one class in the reference: not calibrated. */
const logits = rowsOf('1', () => 0).map((r) => ({ ...r, id: `logit-${r.id}`, score: r.score * 5 - 2 }));
/** Model `late`: version 1's rows, whose labels are produced only after the first estimate. */
const late = calibrated.map((r) => ({ ...r, id: `late-${r.id}` }));

const predictionOf = (model: string, r: Row) => ({
  prediction_id: r.id,
  model_id: model,
  model_version: r.version,
  timestamp: r.time,
  features: { x: r.score },
  prediction: r.score >= 0.5 ? 1 : 0,
  score: r.score,
});

async function play(service: TestService): Promise<void> {
  const rows = [...calibrated, ...oneClass, ...logits];
  await produce(service.config.topics.predictions, [
    ...[...calibrated, ...oneClass].map((r) => predictionOf('cbpe', r)),
    ...logits.map((r) => predictionOf('logits', r)),
    ...late.map((r) => predictionOf('late', r)),
    ...['a', 'b', 'c'].map((c, i) => ({
      prediction_id: `multi-${i}`,
      model_id: 'multi',
      model_version: '1',
      timestamp: T0 + i,
      features: { x: i },
      prediction: c,
    })),
  ]);
  const labeled = rows.filter((r) => r.label !== undefined);
  await produce(
    service.config.topics.labels,
    labeled.map((r) => ({ prediction_id: r.id, label: r.label, timestamp: r.time + DAY })),
  );
  await waitFor('rows stored', async () => {
    const [row] = await service.rows<{ p: number; l: number; v: number }>(
      `SELECT (SELECT count() FROM predictions FINAL) AS p, (SELECT count() FROM labels FINAL) AS l,
              (SELECT count() FROM model_versions FINAL) AS v`,
    );
    return row?.p === rows.length + late.length + 3 && row.l === labeled.length && row.v === 5
      ? true
      : undefined;
  });
}

function expectedEstimates(rows: Row[]) {
  const reference = rows.filter((r) => r.label !== undefined);
  const decision = needsCalibration(
    reference.map((r) => r.label!),
    reference.map((r) => r.score),
  );
  const model = decision.calibrate
    ? fitIsotonic(
        reference.map((r) => r.score),
        reference.map((r) => r.label!),
      )
    : undefined;
  const byDay = [0, 1, 2].map((day) =>
    estimate(
      rows
        .filter((r) => r.time >= T0 + day * DAY && r.time < T0 + (day + 1) * DAY)
        .map((r) => ({
          p: model ? predictIsotonic(model, r.score) : r.score,
          predictedPositive: r.score >= 0.5,
          score: r.score,
        })),
    ),
  );
  return { decision, byDay };
}

describe('the estimated-performance route', () => {
  it('computes in ClickHouse what the definitions give, calibrated or not, and refuses bad requests', async () => {
    const service = await startTestService();
    await play(service);
    // Version 1's last day also holds predictions with a null, infinite or NaN score, stored
    // straight to the table (JSON over Kafka has no infinity): left out of the count and the
    // estimates, which stay those of its 300 scored rows (review 28 finding 11).
    await service.platform.db.client.command({
      query: `INSERT INTO predictions (model_id, model_version, prediction_id, timestamp, prediction, score, is_error, entity_id, request_id)
              VALUES ${['NULL', 'inf', '-inf', 'nan']
                .map(
                  (score, i) =>
                    `('cbpe', '1', 'odd-${i}', fromUnixTimestamp64Milli(toInt64(${T0 + 2 * DAY + 30_000 + i}), 'UTC'), '1', ${score}, false, '', '')`,
                )
                .join(', ')}`,
    });
    for (const version of ['1', '2']) {
      const set = await put(service, `/api/v1/models/cbpe/versions/${version}/reference`, {
        from: T0,
        to: T0 + DAY,
      });
      expect(set.status).toBe(200);
    }
    const url = (query: string) =>
      `/api/v1/models/cbpe/estimated-performance?from=2024-01-01&to=2024-01-04&bucket=1d${query}`;

    for (const [version, rows] of [
      ['1', calibrated],
      ['2', oneClass],
    ] as const) {
      const { decision, byDay } = expectedEstimates(rows);
      const response = await service.get(url(`&version=${version}`));
      expect(response.status).toBe(200);
      const body = response.body as EstimatedPerformance;
      expect(body).toMatchObject({
        version,
        calibrated: decision.calibrate,
        reference: { rows: 300, calibration_reason: decision.reason },
      });
      expect(body.buckets).toHaveLength(3);
      body.buckets.forEach((bucket, day) => {
        expect(bucket.count).toBe(300);
        for (const metric of ['roc_auc', 'accuracy', 'precision', 'recall', 'f1'] as const) {
          const want = byDay[day]![metric];
          if (want === null) expect(bucket.estimated[metric]).toBeNull();
          else expect(bucket.estimated[metric], `v${version} day ${day} ${metric}`).toBeCloseTo(want, 12);
        }
        // Labels exist for the reference day only.
        expect(bucket.realized === null).toBe(day > 0);
        // The reference is one 1d bucket: no band, so no alert (a zero-width band alerted on everything).
        for (const metric of ESTIMATED_METRICS) expect(bucket.band[metric], metric).toBeNull();
        expect(bucket.alerts).toEqual([]);
      });
      expect(body.warnings.join('\n')).toMatch(
        /no band \(so no alert\) for roc_auc, accuracy, precision, recall, f1/,
      );
    }

    // Cut into 6h buckets, the reference day gives 4 band values: NannyML's band and alerts.
    for (const [version, rows] of [
      ['1', calibrated],
      ['2', oneClass],
    ] as const) {
      const response = await service.get(
        `/api/v1/models/cbpe/estimated-performance?from=2024-01-01&to=2024-01-04&bucket=6h&version=${version}`,
      );
      expect(response.status).toBe(200);
      const body = response.body as EstimatedPerformance;
      const metrics = await service.get(
        `/api/v1/models/cbpe/metrics?from=2024-01-01&to=2024-01-02&bucket=6h&version=${version}`,
      );
      const realized = (metrics.body as { buckets: (Estimates & { start: string })[] }).buckets;
      expect(realized).toHaveLength(4);
      const bands = referenceBands(
        realized.map((b) => {
          const inBucket = rows.filter(
            (r) =>
              r.label !== undefined &&
              r.time >= Date.parse(b.start) &&
              r.time < Date.parse(b.start) + DAY / 4,
          );
          return nannymlRealized({
            realized: b,
            labeled: inBucket.length,
            labelPositives: inBucket.filter((r) => r.label === 1).length,
            predictedPositives: inBucket.filter((r) => r.score >= 0.5).length,
          });
        }),
      );
      expect(body.buckets).toHaveLength(12);
      for (const bucket of body.buckets) {
        for (const metric of ESTIMATED_METRICS) {
          const want = bands[metric];
          if (want === null) expect(bucket.band[metric], `v${version} ${metric}`).toBeNull();
          else {
            expect(bucket.band[metric]![0], `v${version} ${metric}`).toBeCloseTo(want[0], 12);
            expect(bucket.band[metric]![1], `v${version} ${metric}`).toBeCloseTo(want[1], 12);
          }
        }
        // Literal alerts (review 28 finding 11): the calibrated version's estimates stay inside the
        // band of its reference day; the one-class version's estimated accuracy leaves it in every
        // bucket (its reference labels are all negative, its scores say otherwise).
        expect(bucket.alerts, bucket.start).toEqual(version === '1' ? [] : ['accuracy']);
        if (version === '2') {
          const [low, high] = bucket.band.accuracy!;
          const accuracy = bucket.estimated.accuracy!;
          expect(accuracy < low || accuracy > high, bucket.start).toBe(true);
        }
      }
      if (version === '1') {
        for (const metric of ESTIMATED_METRICS) expect(bands[metric], metric).not.toBeNull();
      } else {
        // All-negative labels: NannyML has no realized precision, recall, F1 or ROC AUC there.
        expect(bands).toMatchObject({ roc_auc: null, precision: null, recall: null, f1: null });
        expect(bands.accuracy).not.toBeNull();
        expect(body.buckets.flatMap((b) => b.alerts).filter((a) => a !== 'accuracy')).toEqual([]);
        expect(body.buckets.some((b) => (b.estimated.precision ?? 0) > 0)).toBe(true);
      }
    }
    const calibratedBody = (await service.get(url('&version=1'))).body as EstimatedPerformance;
    expect(calibratedBody.calibrated).toBe(true);
    const oneClassBody = (await service.get(url('&version=2'))).body as EstimatedPerformance;
    expect(oneClassBody.reference.calibration_reason).toBe('single_class');
    // Without a version: the drift route's default (review 28 finding 4). Both versions are in
    // production, first seen at T0 (their first prediction): the larger version string.
    expect(((await service.get(url(''))).body as EstimatedPerformance).version).toBe('2');
    // Version 2 becomes a shadow challenger, and an archived version 3 is registered after it:
    // neither takes over the default, which is production version 1 (not a 409 for a version
    // without a reference).
    expect((await send(service, 'PATCH', '/api/v1/models/cbpe/versions/2', { stage: 'shadow' })).status).toBe(
      200,
    );
    const archived = await new ModelRegistry(service.platform.db).register({
      modelId: 'cbpe',
      version: '3',
      task: 'binary_classification',
      positiveClass: '1',
      stage: 'archived',
      artifactSha256: '',
      trainingDataUri: '',
      trainingDataSha256: '',
      featureSchema: '',
    });
    expect(archived).toMatchObject({ model_version: '3', stage: 'archived', task: 'binary_classification' });
    const byDefault = await service.get(url(''));
    expect(byDefault.status).toBe(200);
    expect(byDefault.body).toMatchObject({ version: '1', calibrated: true });

    const refused = async (path: string, status: number, message: RegExp) => {
      const response = await service.get(path);
      expect(response.status, path).toBe(status);
      expect((response.body as { message: string }).message, path).toMatch(message);
    };
    await refused(url('&version=9'), 404, /model 'cbpe' has no version '9'/);
    await refused('/api/v1/models/nope/estimated-performance?bucket=1d', 404, /unknown model 'nope'/);
    await refused('/api/v1/models/multi/estimated-performance?bucket=1d', 409, /covers binary classifiers/);
    await refused(
      '/api/v1/models/multi/estimated-performance?bucket=1d&version=1',
      409,
      /covers binary classifiers/,
    );
    await refused(url('').replace('bucket=1d', 'bucket=7x'), 400, /querystring\/bucket/);
    await refused('/api/v1/models/cbpe/estimated-performance?from=2026-02-30&bucket=1d', 400, /from/);
    await refused(
      '/api/v1/models/cbpe/estimated-performance?from=9999-01-01&to=9999-02-01&bucket=1d',
      400,
      /from|to/,
    );
    await refused(
      `/api/v1/models/cbpe/estimated-performance?bucket=1d&version=${'v'.repeat(513)}`,
      400,
      /version/,
    );
    const noRows = await service.get(
      '/api/v1/models/cbpe/estimated-performance?from=2025-01-01&to=2025-01-03&bucket=1d',
    );
    expect(noRows.status).toBe(200);
    expect((noRows.body as EstimatedPerformance).buckets).toEqual([]);

    // Scores outside [0, 1] without calibration: no estimates (never an accuracy of 2.17), and why.
    expect(
      (await put(service, '/api/v1/models/logits/versions/1/reference', { from: T0, to: T0 + DAY })).status,
    ).toBe(200);
    const logitBody = (
      await service.get('/api/v1/models/logits/estimated-performance?from=2024-01-01&to=2024-01-04&bucket=1d')
    ).body as EstimatedPerformance;
    expect(logitBody).toMatchObject({ calibrated: false, reference: { calibration_reason: 'single_class' } });
    expect(logitBody.buckets).toHaveLength(3);
    for (const bucket of logitBody.buckets)
      expect(bucket.estimated).toEqual({
        roc_auc: null,
        accuracy: null,
        precision: null,
        recall: null,
        f1: null,
      });
    expect(logitBody.warnings.join('\n')).toMatch(/3 bucket\(s\) hold scores outside \[0, 1\]/);

    // A reference set before its labels land: no_rows at first, refitted once they are in.
    expect(
      (await put(service, '/api/v1/models/late/versions/1/reference', { from: T0, to: T0 + DAY })).status,
    ).toBe(200);
    const lateUrl = '/api/v1/models/late/estimated-performance?from=2024-01-01&to=2024-01-04&bucket=1d';
    const early = (await service.get(lateUrl)).body as EstimatedPerformance;
    expect(early).toMatchObject({ calibrated: false, reference: { rows: 0, calibration_reason: 'no_rows' } });
    expect(early.warnings.join('\n')).toMatch(/no labeled prediction/);
    const lateLabeled = late.filter((r) => r.label !== undefined);
    await produce(
      service.config.topics.labels,
      lateLabeled.map((r) => ({ prediction_id: r.id, label: r.label, timestamp: r.time + DAY })),
    );
    const refitted = await waitFor('the late reference refitted', async () => {
      const body = (await service.get(lateUrl)).body as EstimatedPerformance;
      return body.reference.rows === lateLabeled.length ? body : undefined;
    });
    const onTime = (await service.get(url('&version=1'))).body as EstimatedPerformance;
    expect(refitted).toMatchObject({ calibrated: true, reference: { calibration_reason: 'ece' } });
    expect(refitted.reference).toMatchObject({ ...onTime.reference, revision: refitted.reference.revision });
    expect(refitted.buckets.map((b) => b.estimated)).toEqual(onTime.buckets.map((b) => b.estimated));
    // The newest fit replaced the first one in the table too.
    const fits = await service.rows<{ reason: string }>(
      "SELECT reason FROM cbpe_calibrator_fits FINAL WHERE model_id = 'late'",
    );
    expect(fits).toEqual([{ reason: 'ece' }]);
  });
});
