/**
 * The calibrator of a version for its current drift reference revision and the labels its
 * reference period holds now: read from `cbpe_calibrator_fits`, or fitted from the reference
 * period's labeled predictions and stored there.
 *
 * - Refitted when the labeled reference rows change (labels arrive minutes or weeks after their
 *   predictions): each calibrator carries the fingerprint of the rows it was fitted on.
 * - The first fit of a revision in this process: the stored fit, else a new one that callers wait
 *   for (concurrent route, gauge and retrain callers share it).
 * - Later refits run in the background while callers keep getting the revision's previous fit,
 *   one at a time per version and revision, and at most one per `refitIntervalMs` after the
 *   previous fit: a reference period whose labels trickle in is normal, and
 *   a full refit per change would cost seconds of ClickHouse and CPU every fingerprint read. A
 *   fit made on no labeled row (`no_rows`) is not a calibration: the fit after it is not delayed.
 * - A completed fit never replaces a fit of the rows read as current since: it is
 *   kept out of the cache, and out of the table when that already holds a fit of the current rows.
 * - A failed fit is remembered for `failedFitRetryMs`, so a failure does not cost a full fit on
 *   every request; callers get the revision's previous fit meanwhile, or EstimationError
 *   CALIBRATION_FAILED (with the time it is tried again) without one.
 * - The fit runs where `deps.fit` runs it: the service's is a worker thread (fit-pool.ts); the
 *   default, on the calling thread, hands the event loop back between its folds.
 */
import type { DriftService } from '../../drift/index.js';
import { normalizeClass, type ModelVersionRecord } from '../../models/index.js';
import { errorMessage } from '../../platform/errors.js';
import { fitCalibrationYielding, type CalibrationFit } from '../calibration/fit.js';
import { EstimationError } from '../errors.js';
import type { CalibratorStore, ReferenceKey, StoredCalibrator } from '../store/calibrators.js';

export type VersionRecord = Pick<
  ModelVersionRecord,
  'model_id' | 'model_version' | 'task' | 'positive_class'
>;

/**
 * The shortest time between two fits of a reference revision (after a fit on labeled rows), in
 * every process: a constant rather than an environment setting, since the service's settings live
 * in src/platform/config. Five minutes keeps a trickle of labels from costing more than a few
 * fits an hour, and a reference whose labels all landed is calibrated on them within five minutes.
 */
export const REFIT_INTERVAL_MS = 5 * 60_000;

export interface CalibratorsDeps {
  store: CalibratorStore;
  drift: Pick<DriftService, 'reference'>;
  /** @default Date.now */
  now?: () => number;
  /** How long a fingerprint of the labeled reference rows is taken as current. @default 10000 */
  fingerprintMaxAgeMs?: number;
  /** How long a failed fit is answered from memory before it is tried again. @default 300000 */
  failedFitRetryMs?: number;
  /** The shortest time between two fits of a revision after a fit on labeled rows. @default REFIT_INTERVAL_MS */
  refitIntervalMs?: number;
  /** Fits the reference rows (a worker pool's `fit`). @default fitCalibrationYielding, on this thread */
  fit?: (scores: Float64Array, labels: Uint8Array) => Promise<CalibrationFit>;
}

interface Fingerprint {
  value: string;
  at: number;
}

/** One version's reference revision as a fit needs it. */
interface Target {
  /** model and version */
  id: string;
  /** model, version and reference revision */
  revisionId: string;
  reference: ReferenceKey;
  revision: number;
  fingerprint: string;
}

export class Calibrators {
  /** The last calibrator per version (a new revision, or a refit of the current one, replaces it). */
  private readonly cache = new Map<string, StoredCalibrator>();
  private readonly fingerprints = new Map<string, Fingerprint | Promise<Fingerprint>>();
  /** Per revision: the first fit (stored or new) that callers without a previous fit wait for. */
  private readonly firstFits = new Map<string, Promise<StoredCalibrator>>();
  /** Per revision: the background refit running now (one at a time). */
  private readonly refits = new Map<string, Promise<void>>();
  /** Per revision: the fingerprint whose stored fit was last looked up by a background refit. */
  private readonly storeChecked = new Map<string, string>();
  /** Per revision: the last failed fit, tried again after `failedFitRetryMs`. */
  private readonly failures = new Map<string, { error: EstimationError; until: number }>();

  constructor(private readonly deps: CalibratorsDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * Throws EstimationError NO_REFERENCE when the version has no reference taken from a time range,
   * CALIBRATION_FAILED when the revision has no fit and fitting it failed (tried again after
   * `failedFitRetryMs`, the error's `retryAt`).
   */
  async get(version: VersionRecord): Promise<StoredCalibrator> {
    const key = { modelId: version.model_id, version: version.model_version };
    const reference = await this.deps.drift.reference(key);
    if (!reference || reference.source !== 'range' || reference.from === null || reference.to === null) {
      throw new EstimationError(
        'NO_REFERENCE',
        `model '${key.modelId}' version '${key.version}' has no drift reference taken from a time range of its own predictions: ` +
          `set one with PUT /api/v1/models/${key.modelId}/versions/${key.version}/reference {"from", "to"}`,
      );
    }
    const referenceKey: ReferenceKey = {
      ...key,
      positiveClass: normalizeClass(version.positive_class),
      from: reference.from,
      to: reference.to,
    };
    const id = `${key.modelId}\u0000${key.version}`;
    const revisionId = `${id}\u0000${reference.revision}`;
    const fingerprint = await this.fingerprint(revisionId, referenceKey);
    const target: Target = {
      id,
      revisionId,
      reference: referenceKey,
      revision: reference.revision,
      fingerprint,
    };
    const cached = this.cache.get(id);
    if (cached?.revision === reference.revision && cached.fingerprint === fingerprint) return cached;
    const previous = cached?.revision === reference.revision ? cached : await this.firstFit(target);
    // The rows changed since `previous` was fitted: it serves while the refit runs.
    if (previous.fingerprint !== fingerprint) this.refitInBackground(target, previous);
    return previous;
  }

  /**
   * Whether a newer reading of the labeled reference rows than the calibrator's own is known: it
   * is then refitted in the background (or after the refit interval) and serves meanwhile.
   */
  isStale(calibrator: StoredCalibrator): boolean {
    const known = this.fingerprints.get(
      `${calibrator.modelId}\u0000${calibrator.version}\u0000${calibrator.revision}`,
    );
    return known !== undefined && !(known instanceof Promise) && known.value !== calibrator.fingerprint;
  }

  /** When the background refits running now have ended (tests; a refit never rejects). */
  async refitting(): Promise<void> {
    await Promise.all([...this.refits.values()]);
  }

  /**
   * When every fit running now has ended, first fits and background refits alike, failed or not:
   * the capability's stop waits for them, so none queries ClickHouse after it closes.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.firstFits.values(), ...this.refits.values()]);
  }

  /** The fingerprint of the labeled reference rows, read at most once per `fingerprintMaxAgeMs`. */
  private async fingerprint(revisionId: string, reference: ReferenceKey): Promise<string> {
    const known = this.fingerprints.get(revisionId);
    if (
      known &&
      !(known instanceof Promise) &&
      known.at + (this.deps.fingerprintMaxAgeMs ?? 10_000) > this.now()
    )
      return known.value;
    if (known instanceof Promise) return (await known).value;
    return this.readFingerprint(revisionId, reference);
  }

  private async readFingerprint(revisionId: string, reference: ReferenceKey): Promise<string> {
    const reading = this.deps.store.fingerprint(reference).then((value) => ({ value, at: this.now() }));
    this.fingerprints.set(revisionId, reading);
    try {
      const read = await reading;
      if (this.fingerprints.get(revisionId) === reading) this.fingerprints.set(revisionId, read);
      return read.value;
    } catch (err) {
      if (this.fingerprints.get(revisionId) === reading) this.fingerprints.delete(revisionId);
      throw err;
    }
  }

  /** The revision's first fit in this process: the stored one (on any rows), else a new fit. */
  private firstFit(target: Target): Promise<StoredCalibrator> {
    const running = this.firstFits.get(target.revisionId);
    if (running) return running;
    const failed = this.failures.get(target.revisionId);
    if (failed && failed.until > this.now()) return Promise.reject(failed.error);
    const flight = (async () => {
      const stored = await this.deps.store.read(
        target.reference.modelId,
        target.reference.version,
        target.revision,
      );
      const fit = stored ?? (await this.fitAndStore(target, true));
      this.remember(target.id, fit);
      return fit;
    })().catch((err: unknown) => {
      throw this.failed(target, err);
    });
    this.firstFits.set(target.revisionId, flight);
    const settled = flight.finally(() => this.firstFits.delete(target.revisionId));
    settled.catch(() => undefined);
    return flight;
  }

  /**
   * Refits on the current rows in the background, unless a refit of the revision runs, its last
   * fit failed recently, or the previous fit is younger than `refitIntervalMs`. A fit of these
   * rows another instance stored is taken without fitting (looked up once per fingerprint).
   */
  private refitInBackground(target: Target, previous: StoredCalibrator): void {
    if (this.refits.has(target.revisionId)) return;
    const lookUp = this.storeChecked.get(target.revisionId) !== target.fingerprint;
    const fit = this.mayFit(target.revisionId, previous);
    if (!lookUp && !fit) return;
    const refit = (async () => {
      if (lookUp) {
        this.storeChecked.set(target.revisionId, target.fingerprint);
        const stored = await this.deps.store.read(
          target.reference.modelId,
          target.reference.version,
          target.revision,
        );
        if (stored?.fingerprint === target.fingerprint) {
          this.remember(target.id, stored);
          return;
        }
      }
      if (fit) this.remember(target.id, await this.fitAndStore(target, lookUp));
    })().catch((err: unknown) => {
      // Remembered: callers keep the previous fit, and the fit is tried again after a while.
      this.failed(target, err);
    });
    this.refits.set(target.revisionId, refit);
    void refit.finally(() => this.refits.delete(target.revisionId));
  }

  private mayFit(revisionId: string, previous: StoredCalibrator): boolean {
    const failed = this.failures.get(revisionId);
    if (failed && failed.until > this.now()) return false;
    if (previous.rows === 0 || previous.fittedAt === undefined) return true;
    return this.now() >= previous.fittedAt + (this.deps.refitIntervalMs ?? REFIT_INTERVAL_MS);
  }

  private failed(target: Target, err: unknown): EstimationError {
    const until = this.now() + (this.deps.failedFitRetryMs ?? 300_000);
    const { modelId, version } = target.reference;
    const error = new EstimationError(
      'CALIBRATION_FAILED',
      `the calibrator of model '${modelId}' version '${version}' could not be fitted on its reference ` +
        `(${errorMessage(err)}); tried again after ${new Date(until).toISOString()}`,
      until,
    );
    this.failures.set(target.revisionId, { error, until });
    return error;
  }

  /**
   * The version's calibrator becomes `fit`, unless the cache holds a later revision, or a fit of
   * the same revision made on the rows read as current since while `fit` was made on others.
   */
  private remember(id: string, fit: StoredCalibrator): void {
    const cached = this.cache.get(id);
    if (cached && cached.revision > fit.revision) return;
    if (cached?.revision === fit.revision && cached.fingerprint !== fit.fingerprint) {
      const current = this.fingerprints.get(`${id}\u0000${fit.revision}`);
      if (current && !(current instanceof Promise) && current.value === cached.fingerprint) return;
    }
    this.cache.set(id, fit);
  }

  /**
   * A new fit on the target's rows, stored unless the rows changed while it was made and the
   * table already holds a fit of the current rows: that one is returned instead (instances
   * converge on the fit of the newest rows, not on the fit that finished last). `lookedUp`: the
   * caller read the stored fit just before (no fit of these rows there).
   */
  private async fitAndStore(target: Target, lookedUp: boolean): Promise<StoredCalibrator> {
    const { reference, revision, fingerprint } = target;
    if (!lookedUp) {
      const stored = await this.deps.store.read(reference.modelId, reference.version, revision);
      if (stored?.fingerprint === fingerprint) return stored;
    }
    const fitted = await this.fit(reference, revision, fingerprint);
    const current = await this.readFingerprint(target.revisionId, reference);
    if (current !== fingerprint) {
      const stored = await this.deps.store.read(reference.modelId, reference.version, revision);
      if (stored?.fingerprint === current) return stored;
    }
    const calibrator = { ...fitted, fittedAt: this.now() };
    await this.deps.store.write(calibrator, calibrator.fittedAt);
    return calibrator;
  }

  private async fit(
    reference: ReferenceKey,
    revision: number,
    fingerprint: string,
  ): Promise<StoredCalibrator> {
    const { scores, labels } = await this.deps.store.referenceRows(reference);
    const base = {
      modelId: reference.modelId,
      version: reference.version,
      revision,
      from: reference.from,
      to: reference.to,
      rows: scores.length,
      positives: labels.reduce((a, b) => a + b, 0),
      fingerprint,
    };
    if (scores.length === 0) {
      return {
        ...base,
        calibrated: false,
        reason: 'no_rows',
        eceBefore: null,
        eceAfter: null,
        thresholds: [],
        values: [],
      };
    }
    const fitted = await (this.deps.fit ?? fitCalibrationYielding)(scores, labels);
    return {
      ...base,
      calibrated: fitted.calibrate,
      reason: fitted.reason,
      eceBefore: fitted.eceBefore,
      eceAfter: fitted.eceAfter,
      thresholds: fitted.thresholds,
      values: fitted.values,
    };
  }
}
