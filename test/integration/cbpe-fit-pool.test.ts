/**
 * CBPE's calibration fits on a worker thread (fit-pool.ts). The worker is the compiled module
 * (dist/, built by `npm run build`), so this test loads the pool from there: a fit made on it must
 * equal the one this thread makes, bit for bit, for every kind of decision, and the calibrators
 * given the pool must fit there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitCalibration, fitCalibrationYielding } from '../../src/performance-estimation/calibration/fit.js';
import type { CalibrationPool } from '../../src/performance-estimation/calibration/fit-pool.js';
import { Calibrators } from '../../src/performance-estimation/service/calibrators.js';
import type {
  CalibratorStore,
  StoredCalibrator,
} from '../../src/performance-estimation/store/calibrators.js';
import { importCompiled } from '../support/compiled.js';
import { rangeReference, reference, version } from '../unit/performance-estimation/calibrator-fixtures.js';

let pool: CalibrationPool;

beforeAll(async () => {
  const { CalibrationPool: Compiled } = await importCompiled<
    typeof import('../../src/performance-estimation/calibration/fit-pool.js')
  >('performance-estimation/calibration/fit-pool.js');
  const created = Compiled.create();
  if (!created) throw new Error('the compiled calibration pool found no worker module next to it');
  pool = created;
});

afterAll(async () => {
  await pool?.close();
});

/** Rows whose scores separate the classes (ROC AUC 1): no calibration. */
function separable(n: number) {
  const scores = Float64Array.from({ length: n }, (_, i) => i / n);
  const labels = Uint8Array.from(scores, (s) => (s >= 0.5 ? 1 : 0));
  return { scores, labels };
}

describe('calibration fits on a worker thread', () => {
  const cases = [
    ['miscalibrated (ece, calibrated)', reference(20_000, 3), 'ece'],
    [
      'a single class',
      { scores: new Float64Array([0.2, 0.4, 0.9]), labels: new Uint8Array(3) },
      'single_class',
    ],
    ['separable', separable(1_000), 'separable'],
    [
      'too few rows (one positive)',
      { scores: new Float64Array([0.1, 0.9, 0.4, 0.6]), labels: new Uint8Array([1, 0, 0, 0]) },
      'too_few_rows',
    ],
  ] as const;

  it.each(cases)('equal this thread’s fit, bit for bit: %s', async (_, rows, reason) => {
    const here = fitCalibration(rows.scores, rows.labels);
    expect(here.reason).toBe(reason);
    expect(await fitCalibrationYielding(rows.scores, rows.labels)).toEqual(here);
    const before = pool.completed;
    const there = await pool.fit(rows.scores, rows.labels);
    expect(pool.completed).toBe(before + 1);
    expect(there).toEqual(here);
    expect(Object.is(there.eceBefore, here.eceBefore) && Object.is(there.eceAfter, here.eceAfter)).toBe(true);
    if (reason === 'ece') expect(there.calibrate && there.thresholds.length > 10).toBe(true);
  });

  it('is where the calibrators given the pool fit, with the calibrator the calling thread makes', async () => {
    const rows = reference(5_000, 11);
    const store = (): CalibratorStore & { writes: StoredCalibrator[] } => {
      const writes: StoredCalibrator[] = [];
      return {
        writes,
        read: () => Promise.resolve(writes.at(-1)),
        write: (c) => Promise.resolve(void writes.push(c)),
        fingerprint: () => Promise.resolve('f1'),
        referenceRows: () => Promise.resolve(rows),
      };
    };
    const [onWorker, onThisThread] = [store(), store()];
    const now = () => 1_000;
    const before = pool.completed;
    const worker = await new Calibrators({
      store: onWorker,
      drift: rangeReference,
      now,
      fit: (s, l) => pool.fit(s, l),
    }).get(version);
    expect(pool.completed).toBe(before + 1);
    const local = await new Calibrators({ store: onThisThread, drift: rangeReference, now }).get(version);
    expect(worker.calibrated).toBe(true);
    expect(worker).toEqual(local);
    expect(onWorker.writes).toEqual(onThisThread.writes);
  });

  it('ends the fit running when it closes, and refuses later fits rather than starting a worker nothing closes', async () => {
    const { CalibrationPool: Compiled } = await importCompiled<
      typeof import('../../src/performance-estimation/calibration/fit-pool.js')
    >('performance-estimation/calibration/fit-pool.js');
    const stopping = Compiled.create()!;
    // Seconds of work on the worker: still running when the pool closes.
    const rows = reference(300_000, 5);
    const running = stopping.fit(rows.scores, rows.labels);
    running.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const closing = Date.now();
    await stopping.close();
    await expect(running).rejects.toThrow();
    expect(Date.now() - closing).toBeLessThan(2_000);
    // A background refit reaching its fit during shutdown: refused, no new worker.
    await expect(stopping.fit(rows.scores, rows.labels)).rejects.toThrow(/calibration pool is closed/);
    expect(stopping.completed).toBe(0);
  });
});
