import { describe, expect, it } from 'vitest';
import type { ModelVersionRecord } from '../../../src/models/index.js';
import { EstimationError, estimationQueryError } from '../../../src/performance-estimation/errors.js';
import { Calibrators, REFIT_INTERVAL_MS } from '../../../src/performance-estimation/service/calibrators.js';
import { EstimationService } from '../../../src/performance-estimation/service/estimation-service.js';
import type {
  CalibratorStore,
  StoredCalibrator,
} from '../../../src/performance-estimation/store/calibrators.js';
import { rangeReference, reference, version } from './calibrator-fixtures.js';

/**
 * Review 28: refits of a reference revision run in the background, one at a time and spaced by
 * REFIT_INTERVAL_MS (finding 2); a fit that finishes after the rows changed again never replaces
 * the fit of the current rows (finding 8); a failed fit says when it is tried again (finding 9);
 * the default version is the drift route's (finding 4); ClickHouse's limits are named (finding 5).
 */

/**
 * A store shared by instances: the fingerprint is `state.fingerprint`; the rows of fingerprint f
 * are `rowsOf(f)`, read after `gate(f)` resolves (a slow fit).
 */
function sharedStore(state: {
  fingerprint: string;
  rowsOf?: (fingerprint: string) => { scores: Float64Array; labels: Uint8Array };
  gate?: (fingerprint: string) => Promise<void>;
}) {
  const calls = { referenceRows: [] as string[], writes: [] as StoredCalibrator[] };
  const store: CalibratorStore = {
    // The newest write wins, as the ReplacingMergeTree versioned by fitted_at keeps it.
    read: () => Promise.resolve(calls.writes.at(-1)),
    write: (c) => {
      calls.writes.push(c);
      return Promise.resolve();
    },
    fingerprint: () => Promise.resolve(state.fingerprint),
    referenceRows: async () => {
      const fingerprint = state.fingerprint;
      calls.referenceRows.push(fingerprint);
      await (state.gate?.(fingerprint) ?? new Promise((resolve) => setImmediate(resolve)));
      return (state.rowsOf ?? (() => reference(2_000)))(fingerprint);
    },
  };
  return { store, calls };
}

function opened(): { gate: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return { gate, open };
}

/** `promise`, or a rejection after `ms`: a get() that waits for a blocked refit fails the test. */
function within<T>(promise: Promise<T>, ms = 2_000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)),
  ]);
}

describe('calibrator refits (review 28 findings 2 and 8)', () => {
  it('serves the previous fit while a refit runs, and runs one refit at a time per version', async () => {
    const f2 = opened();
    const state = {
      fingerprint: 'f1',
      rowsOf: (f: string) => reference(2_000, f === 'f1' ? 1 : f === 'f2' ? 2 : 3),
      gate: (f: string) => (f === 'f2' ? f2.gate : Promise.resolve()),
    };
    const { store, calls } = sharedStore(state);
    const calibrators = new Calibrators({
      store,
      drift: rangeReference,
      fingerprintMaxAgeMs: 0,
      refitIntervalMs: 0,
    });
    const first = await calibrators.get(version);
    expect(first.fingerprint).toBe('f1');

    state.fingerprint = 'f2';
    // The refit on f2 is blocked: callers get the f1 fit at once, not after the refit.
    expect(await within(calibrators.get(version))).toBe(first);
    expect(calibrators.isStale(first)).toBe(true);
    state.fingerprint = 'f3';
    expect(await within(calibrators.get(version))).toBe(first);
    expect(await within(calibrators.get(version))).toBe(first);
    // No second refit while the first one runs.
    expect(calls.referenceRows).toEqual(['f1', 'f2']);

    f2.open();
    await calibrators.refitting();
    const second = await calibrators.get(version);
    expect(second.fingerprint).toBe('f2');
    await calibrators.refitting();
    const third = await calibrators.get(version);
    expect(third.fingerprint).toBe('f3');
    expect(calibrators.isStale(third)).toBe(false);
    expect(calls.referenceRows).toEqual(['f1', 'f2', 'f3']);
    expect(calls.writes.map((w) => w.fingerprint)).toEqual(['f1', 'f2', 'f3']);
  });

  it('refits a revision at most once per REFIT_INTERVAL_MS while its labels keep changing (probe 5)', async () => {
    let now = 1_000_000;
    let labeled = 2_000;
    const state = { fingerprint: '' };
    const fingerprint = () => (state.fingerprint = String(labeled));
    fingerprint();
    const { store, calls } = sharedStore({
      get fingerprint() {
        return state.fingerprint;
      },
      rowsOf: (f) => reference(Number(f), Number(f)),
    });
    const calibrators = new Calibrators({ store, drift: rangeReference, now: () => now });
    const first = await calibrators.get(version);
    expect(first.fittedAt).toBe(now);
    // Five more labels before each request, gauge tick or retrain pass, 10 s apart: no refit.
    for (let call = 0; call < 6; call++) {
      labeled += 5;
      fingerprint();
      now += 10_001;
      expect(await calibrators.get(version)).toBe(first);
      await calibrators.refitting();
    }
    expect(calls.referenceRows).toEqual(['2000']);
    expect(calibrators.isStale(first)).toBe(true);

    // Five minutes after the fit: one refit, in the background, on the rows of that moment.
    now = first.fittedAt! + REFIT_INTERVAL_MS;
    labeled += 5;
    fingerprint();
    now += 10_001;
    expect(await calibrators.get(version)).toBe(first);
    await calibrators.refitting();
    const second = await calibrators.get(version);
    expect(second).toMatchObject({ rows: labeled, fingerprint: String(labeled), fittedAt: now });
    expect(calls.referenceRows).toEqual(['2000', String(labeled)]);

    // And none again until five minutes after that one.
    labeled += 5;
    fingerprint();
    now += REFIT_INTERVAL_MS - 1;
    expect(await calibrators.get(version)).toBe(second);
    await calibrators.refitting();
    expect(calls.referenceRows).toHaveLength(2);
    expect(calls.writes).toHaveLength(2);
  });

  it('starts from the stored fit after a restart, refitting in the background when it is old enough', async () => {
    let now = 5_000_000;
    const state = { fingerprint: 'f1' };
    const { store, calls } = sharedStore(state);
    await new Calibrators({ store, drift: rangeReference, now: () => now }).get(version);
    state.fingerprint = 'f2';
    // A new process: the stored f1 fit serves at once; it is younger than the interval, so no refit.
    const restarted = new Calibrators({ store, drift: rangeReference, now: () => now });
    expect((await within(restarted.get(version))).fingerprint).toBe('f1');
    await restarted.refitting();
    expect(calls.referenceRows).toEqual(['f1']);
    now += REFIT_INTERVAL_MS;
    const again = new Calibrators({ store, drift: rangeReference, now: () => now });
    expect((await within(again.get(version))).fingerprint).toBe('f1');
    await again.refitting();
    expect((await again.get(version)).fingerprint).toBe('f2');
    expect(calls.referenceRows).toEqual(['f1', 'f2']);
  });

  it('never stores a fit of older rows over the fit of the current ones (probe 10)', async () => {
    const slow = opened();
    const state = {
      fingerprint: 'f1',
      rowsOf: (f: string) => reference(2_000, f === 'f1' ? 1 : 2),
      gate: (f: string) => (f === 'f1' ? slow.gate : Promise.resolve()),
    };
    const { store, calls } = sharedStore(state);
    const a = new Calibrators({ store, drift: rangeReference, fingerprintMaxAgeMs: 0 });
    const b = new Calibrators({ store, drift: rangeReference, fingerprintMaxAgeMs: 0 });
    // Instance a starts fitting f1 (slow); labels land; instance b fits f2 and stores it first.
    const fromA = a.get(version);
    await new Promise((resolve) => setTimeout(resolve, 20));
    state.fingerprint = 'f2';
    expect((await b.get(version)).fingerprint).toBe('f2');
    slow.open();
    // a's f1 fit finished last: it is neither stored nor served; a takes the stored f2 fit.
    expect((await fromA).fingerprint).toBe('f2');
    expect(calls.writes.map((w) => w.fingerprint)).toEqual(['f2']);
    expect((await a.get(version)).fingerprint).toBe('f2');
    await a.refitting();
    expect(calls.referenceRows).toEqual(['f1', 'f2']);
  });

  it('settles once the fits running now have ended: the capability stop waits for them before ClickHouse closes', async () => {
    const f2 = opened();
    const state = {
      fingerprint: 'f1',
      gate: (f: string) => (f === 'f2' ? f2.gate : Promise.resolve()),
    };
    const { store, calls } = sharedStore(state);
    const calibrators = new Calibrators({
      store,
      drift: rangeReference,
      fingerprintMaxAgeMs: 0,
      refitIntervalMs: 0,
    });
    await calibrators.get(version);
    state.fingerprint = 'f2';
    // A background refit on f2, blocked in its ClickHouse read: its caller does not wait for it.
    await within(calibrators.get(version));
    let settled = false;
    const settling = calibrators.settled().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    f2.open();
    await within(settling);
    expect(calls.writes.map((w) => w.fingerprint)).toEqual(['f1', 'f2']);

    // A first fit that fails settles too (its callers get the error, the stop does not).
    const failing = new Calibrators({
      store: sharedStore({
        fingerprint: 'f1',
        rowsOf: () => {
          throw new Error('embedded ClickHouse is closing');
        },
      }).store,
      drift: rangeReference,
    });
    const first = failing.get(version).catch((err: unknown) => err);
    await new Promise((resolve) => setImmediate(resolve));
    await within(failing.settled());
    expect(await first).toBeInstanceOf(EstimationError);
  });

  it('says when a failed fit is tried again (finding 9)', async () => {
    const now = 7_000_000;
    const { store } = sharedStore({
      fingerprint: 'f1',
      rowsOf: () => {
        throw new Error('socket hang up');
      },
    });
    const calibrators = new Calibrators({
      store,
      drift: rangeReference,
      now: () => now,
      failedFitRetryMs: 60_000,
    });
    const err = await calibrators.get(version).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EstimationError);
    expect(err).toMatchObject({
      code: 'CALIBRATION_FAILED',
      status: 503,
      retryable: true,
      retryAt: now + 60_000,
    });
  });
});

describe('the default version (review 28 finding 4)', () => {
  const record = (
    v: string,
    stage: ModelVersionRecord['stage'],
    firstSeen: string,
    task = 'binary_classification',
  ) =>
    ({
      model_id: 'm',
      model_version: v,
      task,
      positive_class: '1',
      stage,
      first_seen: firstSeen,
    }) as ModelVersionRecord;
  const serviceOver = (versions: ModelVersionRecord[]) =>
    new EstimationService({
      db: {} as never,
      models: { list: () => Promise.resolve(versions) } as never,
      drift: rangeReference,
    });

  it('is the latest production binary version: a shadow challenger or an archived version does not take over', async () => {
    const versions = [
      record('1', 'production', '2024-01-01T00:00:00.000Z'),
      record('2', 'shadow', '2024-02-01T00:00:00.000Z'),
      record('3', 'archived', '2023-12-01T00:00:00.000Z'),
      record('10', 'production', '2024-03-01T00:00:00.000Z', 'multiclass_classification'),
    ];
    expect((await serviceOver(versions).resolveVersion('m', undefined)).model_version).toBe('1');
    // Without a binary version in production: the latest first seen (the drift route's rule).
    const noProduction = [
      record('9', 'shadow', '2024-01-01T00:00:00.000Z'),
      record('10', 'archived', '2023-01-01T00:00:00.000Z'),
    ];
    expect((await serviceOver(noProduction).resolveVersion('m', undefined)).model_version).toBe('9');
    // A named version is taken as named.
    expect((await serviceOver(versions).resolveVersion('m', '2')).model_version).toBe('2');
  });
});

describe('ClickHouse limits on the estimate queries (review 28 finding 5)', () => {
  const error = (code: unknown, message: string) => Object.assign(new Error(message), { code });

  it('names a narrower range for the query memory limit and a retry for the time limit', () => {
    expect(estimationQueryError(error('241', 'Memory limit (for query) exceeded'))).toMatchObject({
      code: 'RANGE_TOO_LARGE',
      status: 400,
      retryable: false,
    });
    expect(estimationQueryError(error(241, 'Memory limit (for query) exceeded'))?.code).toBe(
      'RANGE_TOO_LARGE',
    );
    expect(estimationQueryError(error('159', 'Timeout exceeded'))).toMatchObject({
      code: 'QUERY_TIMEOUT',
      status: 503,
      retryable: true,
    });
    // The server's total memory, or any other error, is not the request's fault.
    expect(estimationQueryError(error('241', 'Memory limit (total) exceeded'))).toBeUndefined();
    expect(estimationQueryError(error('60', 'Unknown table'))).toBeUndefined();
    expect(estimationQueryError(new Error('socket hang up'))).toBeUndefined();
  });
});
