import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  needsCalibration,
  needsCalibrationYielding,
} from '../../../src/performance-estimation/calibration/needs-calibration.js';
import { stratifiedShuffleSplit } from '../../../src/performance-estimation/calibration/stratified-split.js';
import { EstimationError } from '../../../src/performance-estimation/errors.js';
import type { EstimateRow } from '../../../src/performance-estimation/estimate-sql.js';
import { alerts, nannymlRealized, referenceBands } from '../../../src/performance-estimation/service/band.js';
import { Calibrators } from '../../../src/performance-estimation/service/calibrators.js';
import { EstimationGauges } from '../../../src/performance-estimation/service/gauges.js';
import {
  parseScoreLabelRows,
  type CalibratorStore,
  type StoredCalibrator,
} from '../../../src/performance-estimation/store/calibrators.js';
import { parseBucket } from '../../../src/platform/time/index.js';
import { rangeReference, reference, version } from './calibrator-fixtures.js';

/** A store counting its calls; `rows` and `fingerprint` can change between calls. */
function fakeStore(state: {
  rows: () => { scores: Float64Array; labels: Uint8Array };
  fingerprint?: () => string;
}) {
  const calls = { referenceRows: 0, fingerprint: 0, writes: [] as StoredCalibrator[] };
  const store: CalibratorStore = {
    read: (_m, _v, revision) => Promise.resolve(calls.writes.filter((w) => w.revision === revision).at(-1)),
    write: (c) => {
      calls.writes.push(c);
      return Promise.resolve();
    },
    fingerprint: () => {
      calls.fingerprint++;
      return Promise.resolve(state.fingerprint?.() ?? 'f1');
    },
    referenceRows: async () => {
      calls.referenceRows++;
      await new Promise((resolve) => setImmediate(resolve));
      return state.rows();
    },
  };
  return { store, calls };
}

describe('CBPE regressions (review s21)', () => {
  it('splits a 300k-row reference without overflowing the stack (push(...spread) of a fold)', () => {
    const labels = new Uint8Array(300_000).map((_, i) => i % 2);
    const result = stratifiedShuffleSplit(labels);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.splits[0]!.train).toHaveLength(270_000);
  });

  it('decides calibration on a 300k-row reference, handing the event loop back between folds', async () => {
    const { scores, labels } = reference(300_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      const decision = await needsCalibrationYielding(labels, scores);
      expect(decision.reason).toBe('ece');
      expect(decision.calibrate).toBe(true);
    } finally {
      clearInterval(timer);
    }
    // A timer ran while the folds were fitted: HTTP requests and Kafka heartbeats would too.
    expect(ticks).toBeGreaterThan(5);
  }, 120_000);

  it('yields the same decision as the synchronous one', async () => {
    const { scores, labels } = reference(5_000);
    expect(await needsCalibrationYielding(labels, scores)).toEqual(needsCalibration(labels, scores));
  });

  it('fits once for concurrent callers of one version and revision', async () => {
    const { store, calls } = fakeStore({ rows: () => reference(2_000) });
    const calibrators = new Calibrators({ store, drift: rangeReference });
    const [a, b, c] = await Promise.all([
      calibrators.get(version),
      calibrators.get(version),
      calibrators.get(version),
    ]);
    expect(calls.referenceRows).toBe(1);
    expect(calls.writes).toHaveLength(1);
    expect(a).toBe(b);
    expect(b).toBe(c);
  });

  it('remembers a failed fit for a while instead of refitting on every request', async () => {
    let now = 1_000_000;
    let fail = true;
    const { store, calls } = fakeStore({
      rows: () => {
        if (fail) throw new RangeError('Maximum call stack size exceeded');
        return reference(2_000);
      },
    });
    const calibrators = new Calibrators({
      store,
      drift: rangeReference,
      now: () => now,
      failedFitRetryMs: 60_000,
      fingerprintMaxAgeMs: 0,
    });
    const first = await calibrators.get(version).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(EstimationError);
    expect((first as EstimationError).code).toBe('CALIBRATION_FAILED');
    expect((first as EstimationError).status).toBe(503);
    expect((first as EstimationError).message).toMatch(/Maximum call stack size exceeded/);
    await expect(calibrators.get(version)).rejects.toBe(first);
    expect(calls.referenceRows).toBe(1);
    fail = false;
    now += 60_001;
    expect((await calibrators.get(version)).reason).toBe('ece');
    expect(calls.referenceRows).toBe(2);
  });

  it('keeps serving the earlier fit of the revision while a refit fails', async () => {
    let fingerprint = 'f1';
    const { store, calls } = fakeStore({
      rows: () => {
        if (fingerprint === 'f2') throw new Error('memory limit exceeded');
        return reference(2_000);
      },
      fingerprint: () => fingerprint,
    });
    const calibrators = new Calibrators({
      store,
      drift: rangeReference,
      fingerprintMaxAgeMs: 0,
      refitIntervalMs: 0,
    });
    const first = await calibrators.get(version);
    fingerprint = 'f2';
    expect(await calibrators.get(version)).toBe(first);
    await calibrators.refitting();
    expect(await calibrators.get(version)).toBe(first);
    await calibrators.refitting();
    expect(calls.referenceRows).toBe(2);
  });

  it('refits when the labeled reference rows change (labels arriving after the first fit)', async () => {
    let labeled = 0;
    const all = reference(2_000);
    const { store, calls } = fakeStore({
      rows: () => ({ scores: all.scores.slice(0, labeled), labels: all.labels.slice(0, labeled) }),
      fingerprint: () => `${labeled}`,
    });
    const calibrators = new Calibrators({ store, drift: rangeReference, fingerprintMaxAgeMs: 0 });
    expect(await calibrators.get(version)).toMatchObject({ reason: 'no_rows', calibrated: false, rows: 0 });
    labeled = 2_000;
    // The refit runs in the background (review 28 finding 2): the no_rows fit serves meanwhile,
    // and a fit on no row does not delay the first fit on labeled rows.
    expect(await calibrators.get(version)).toMatchObject({ reason: 'no_rows' });
    await calibrators.refitting();
    expect(await calibrators.get(version)).toMatchObject({ reason: 'ece', calibrated: true, rows: 2_000 });
    // Unchanged rows: the stored fit is used, not refitted.
    await calibrators.get(version);
    expect(calls.writes.map((w) => w.fingerprint)).toEqual(['0', '2000']);
    // Another instance reading the store takes the fit made on the rows it sees.
    const other = new Calibrators({ store, drift: rangeReference });
    expect((await other.get(version)).fingerprint).toBe('2000');
    expect(calls.referenceRows).toBe(2);
  });

  it('reads tab-separated score and label rows into typed arrays', () => {
    const { scores, labels } = parseScoreLabelRows('0.25\t1\n1e-7\t0\n1\t1\n');
    expect(Array.from(scores)).toEqual([0.25, 1e-7, 1]);
    expect(Array.from(labels)).toEqual([1, 0, 1]);
    expect(parseScoreLabelRows('').scores).toHaveLength(0);
  });
});

describe('the reference band (review s21 findings 4 and 5)', () => {
  const metrics = (v: number) => ({ roc_auc: v, accuracy: v, precision: v, recall: v, f1: v });

  it('has no band, and so no alert, with one reference bucket', () => {
    const bands = referenceBands([metrics(0.83)]);
    expect(bands.roc_auc).toBeNull();
    expect(alerts(metrics(0.8299), bands)).toEqual([]);
    expect(referenceBands([metrics(0.8), metrics(0.9)]).roc_auc![0]).toBeCloseTo(0.7, 12);
  });

  it('leaves out of precision, recall and F1 a bucket whose labels or predictions hold one class', () => {
    // All-negative labels: the metrics route reports precision 0 where NannyML has NaN.
    const oneClass = [1, 2, 3].map(() =>
      nannymlRealized({
        realized: { roc_auc: null, accuracy: 0.7, precision: 0, recall: null, f1: 0 },
        labeled: 100,
        labelPositives: 0,
        predictedPositives: 30,
      }),
    );
    const bands = referenceBands(oneClass);
    expect(bands.precision).toBeNull();
    expect(bands.f1).toBeNull();
    expect(bands.accuracy).not.toBeNull();
    expect(alerts({ roc_auc: 0.6, accuracy: 0.7, precision: 0.4, recall: 0.5, f1: 0.45 }, bands)).toEqual([]);
    // One predicted class: no precision, recall or F1; ROC AUC stays.
    expect(
      nannymlRealized({ realized: metrics(0.5), labeled: 10, labelPositives: 4, predictedPositives: 10 }),
    ).toEqual({ roc_auc: 0.5, accuracy: 0.5, precision: null, recall: null, f1: null });
  });
});

describe('the estimated quality gauges (review s21 finding 6)', () => {
  it('refreshes the other versions when one fails, drops its series and logs a warning', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(chunk.toString());
          callback();
        },
      }),
    );
    let failA = false;
    const { store } = fakeStore({ rows: () => reference(500) });
    const calibrators = new Calibrators({ store, drift: rangeReference });
    const row = (v: string): EstimateRow => ({
      version: v,
      start_ms: 0,
      count: 10,
      unusable_scores: 0,
      roc_auc: 0.7,
      accuracy: 0.8,
      precision: 0.6,
      recall: 0.5,
      f1: v === 'B' ? 0.55 : 0.54,
    });
    const registry = new Registry();
    const gauges = new EstimationGauges({
      service: {
        calibrators,
        estimateRows: (v) => {
          if (v.model_version === 'A' && failA) return Promise.reject(new Error('memory limit exceeded'));
          return Promise.resolve([row(v.model_version)]);
        },
      },
      models: {
        list: () => Promise.resolve(['A', 'B'].map((v) => ({ ...version, model_version: v })) as never),
      },
      registry,
      logger,
      bucket: parseBucket('1h')!,
      intervalMs: 3_600_000,
    });
    const f1 = async () =>
      Object.fromEntries(
        (await registry.getSingleMetric('modelwatch_estimated_quality')!.get()).values
          .filter((v) => v.labels['metric'] === 'f1')
          .map((v) => [String(v.labels['version']), v.value]),
      );
    await gauges.runOnce();
    expect(await f1()).toEqual({ A: 0.54, B: 0.55 });
    failA = true;
    await gauges.runOnce();
    expect(await f1()).toEqual({ B: 0.55 });
    expect(lines.join('')).toMatch(/"version":"A".*memory limit exceeded/);
  });
});
