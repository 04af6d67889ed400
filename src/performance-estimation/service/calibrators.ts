/**
 * The calibrator of a version for its current drift reference revision and the labels its
 * reference period holds now: read from `cbpe_calibrator_fits`, or fitted from the reference
 * period's labeled predictions and stored there.
 *
 * - Refitted when the labeled reference rows change (labels arrive minutes or weeks after their
 *   predictions): each calibrator carries the fingerprint of the rows it was fitted on.
 * - One fit at a time per (version, revision, fingerprint) in this process: concurrent callers
 *   (route, gauge loop, retrain loop) share it.
 * - A failed fit is remembered for `failedFitRetryMs`, so a failure does not cost a full fit on
 *   every request; callers get the fit made on the earlier rows of the revision meanwhile, or
 *   EstimationError CALIBRATION_FAILED without one.
 * - The fit runs on the main thread but hands the event loop back between its folds.
 */
import type { DriftService } from '../../drift/index.js';
import { normalizeClass, type ModelVersionRecord } from '../../models/index.js';
import { errorMessage } from '../../platform/errors.js';
import { fitIsotonic } from '../calibration/isotonic.js';
import { needsCalibrationYielding } from '../calibration/needs-calibration.js';
import { EstimationError } from '../errors.js';
import type { CalibratorStore, ReferenceKey, StoredCalibrator } from '../store/calibrators.js';

export type VersionRecord = Pick<
  ModelVersionRecord,
  'model_id' | 'model_version' | 'task' | 'positive_class'
>;

export interface CalibratorsDeps {
  store: CalibratorStore;
  drift: Pick<DriftService, 'reference'>;
  /** @default Date.now */
  now?: () => number;
  /** How long a fingerprint of the labeled reference rows is taken as current. @default 10000 */
  fingerprintMaxAgeMs?: number;
  /** How long a failed fit is answered from memory before it is tried again. @default 300000 */
  failedFitRetryMs?: number;
}

interface Fingerprint {
  value: string;
  at: number;
}

export class Calibrators {
  /** The last calibrator per version (a new revision or fingerprint replaces it). */
  private readonly cache = new Map<string, StoredCalibrator>();
  private readonly fingerprints = new Map<string, Fingerprint | Promise<Fingerprint>>();
  private readonly inFlight = new Map<string, Promise<StoredCalibrator>>();
  private readonly failures = new Map<string, { error: EstimationError; until: number }>();

  constructor(private readonly deps: CalibratorsDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * Throws EstimationError NO_REFERENCE when the version has no reference taken from a time range,
   * CALIBRATION_FAILED when fitting it failed (retried after `failedFitRetryMs`).
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
    const cached = this.cache.get(id);
    if (cached?.revision === reference.revision && cached.fingerprint === fingerprint) return cached;

    // After a failed refit, the fit made on the earlier rows of this revision serves meanwhile.
    const previous = cached?.revision === reference.revision ? cached : undefined;
    const fitId = `${revisionId}\u0000${fingerprint}`;
    const failed = this.failures.get(fitId);
    if (failed && failed.until > this.now()) {
      if (previous) return previous;
      throw failed.error;
    }
    let flight = this.inFlight.get(fitId);
    if (!flight) {
      flight = this.load(referenceKey, reference.revision, fingerprint).then(
        (calibrator) => {
          this.failures.delete(fitId);
          this.cache.set(id, calibrator);
          return calibrator;
        },
        (err: unknown) => {
          const until = this.now() + (this.deps.failedFitRetryMs ?? 300_000);
          const error = new EstimationError(
            'CALIBRATION_FAILED',
            `the calibrator of model '${key.modelId}' version '${key.version}' could not be fitted on its reference ` +
              `(${errorMessage(err)}); tried again after ${new Date(until).toISOString()}`,
          );
          this.failures.set(fitId, { error, until });
          if (previous) return previous;
          throw error;
        },
      );
      const settled = flight.finally(() => this.inFlight.delete(fitId));
      settled.catch(() => undefined);
      this.inFlight.set(fitId, flight);
    }
    return flight;
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
    const reading = this.deps.store.fingerprint(reference).then((value) => ({ value, at: this.now() }));
    this.fingerprints.set(revisionId, reading);
    try {
      const read = await reading;
      this.fingerprints.set(revisionId, read);
      return read.value;
    } catch (err) {
      this.fingerprints.delete(revisionId);
      throw err;
    }
  }

  /** The stored fit when it was made on these rows, else a new fit (stored, newest wins). */
  private async load(
    reference: ReferenceKey,
    revision: number,
    fingerprint: string,
  ): Promise<StoredCalibrator> {
    const stored = await this.deps.store.read(reference.modelId, reference.version, revision);
    if (stored?.fingerprint === fingerprint) return stored;
    const calibrator = await this.fit(reference, revision, fingerprint);
    await this.deps.store.write(calibrator, this.now());
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
    const decision = await needsCalibrationYielding(labels, scores);
    const model = decision.calibrate ? fitIsotonic(scores, labels) : { x: [], y: [] };
    return {
      ...base,
      calibrated: decision.calibrate,
      reason: decision.reason,
      eceBefore: decision.eceBefore,
      eceAfter: decision.eceAfter,
      thresholds: model.x,
      values: model.y,
    };
  }
}
