import { describe, expect, it } from 'vitest';
import { fitIsotonic, predictIsotonic } from '../../src/performance-estimation/calibration/isotonic.js';
import { needsCalibration } from '../../src/performance-estimation/calibration/needs-calibration.js';
import { estimate } from '../../src/performance-estimation/estimators.js';
import type { EstimatedPerformance } from '../../src/performance-estimation/index.js';
import { produce, waitFor } from '../support/harness.js';
import { startTestService, type TestService } from '../support/service.js';
import { put } from '../support/triggers.js';

/**
 * The estimates ClickHouse computes equal the TypeScript definitions (tested against NannyML in
 * test/unit/performance-estimation) on data with ties, scores exactly 0 and 1, a calibrated and an
 * uncalibrated version (one class in its reference); and the route's answers to bad requests.
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

async function play(service: TestService): Promise<void> {
  const rows = [...calibrated, ...oneClass];
  await produce(service.config.topics.predictions, [
    ...rows.map((r) => ({
      prediction_id: r.id,
      model_id: 'cbpe',
      model_version: r.version,
      timestamp: r.time,
      features: { x: r.score },
      prediction: r.score >= 0.5 ? 1 : 0,
      score: r.score,
    })),
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
    return row?.p === rows.length + 3 && row.l === labeled.length && row.v === 3 ? true : undefined;
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
      });
    }
    const calibratedBody = (await service.get(url('&version=1'))).body as EstimatedPerformance;
    expect(calibratedBody.calibrated).toBe(true);
    const oneClassBody = (await service.get(url('&version=2'))).body as EstimatedPerformance;
    expect(oneClassBody.reference.calibration_reason).toBe('single_class');
    // Without a version: the highest binary version.
    expect(((await service.get(url(''))).body as EstimatedPerformance).version).toBe('2');

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
      `/api/v1/models/cbpe/estimated-performance?bucket=1d&version=${'v'.repeat(300)}`,
      400,
      /version/,
    );
    const noRows = await service.get(
      '/api/v1/models/cbpe/estimated-performance?from=2025-01-01&to=2025-01-03&bucket=1d',
    );
    expect(noRows.status).toBe(200);
    expect((noRows.body as EstimatedPerformance).buckets).toEqual([]);
  });
});
