/**
 * The calibrator of a version for its current drift reference revision: read from
 * `cbpe_calibrators`, or fitted from the reference period's labeled predictions and stored there
 * (deterministic, so two instances fitting it at once write the same row).
 */
import type { DriftService } from '../../drift/index.js';
import { normalizeClass, type ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { fitIsotonic } from '../calibration/isotonic.js';
import { needsCalibration } from '../calibration/needs-calibration.js';
import { EstimationError } from '../errors.js';
import {
  readCalibrator,
  readReferenceRows,
  writeCalibrator,
  type StoredCalibrator,
} from '../store/calibrators.js';

export type VersionRecord = Pick<
  ModelVersionRecord,
  'model_id' | 'model_version' | 'task' | 'positive_class'
>;

export interface CalibratorsDeps {
  db: Database;
  drift: Pick<DriftService, 'reference'>;
  /** @default Date.now */
  now?: () => number;
}

export class Calibrators {
  private readonly cache = new Map<string, StoredCalibrator>();

  constructor(private readonly deps: CalibratorsDeps) {}

  /** Throws EstimationError NO_REFERENCE when the version has no reference taken from a time range. */
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
    // One entry per version: a new reference revision replaces the old calibrator.
    const id = `${key.modelId}\u0000${key.version}`;
    const cached = this.cache.get(id);
    if (cached?.revision === reference.revision) return cached;
    const stored =
      (await readCalibrator(this.deps.db, key.modelId, key.version, reference.revision)) ??
      (await this.fit(version, reference.revision, reference.from, reference.to));
    this.cache.set(id, stored);
    return stored;
  }

  private async fit(
    version: VersionRecord,
    revision: number,
    from: number,
    to: number,
  ): Promise<StoredCalibrator> {
    const { scores, labels } = await readReferenceRows(
      this.deps.db,
      {
        modelId: version.model_id,
        version: version.model_version,
        positiveClass: normalizeClass(version.positive_class),
      },
      from,
      to,
    );
    const base = {
      modelId: version.model_id,
      version: version.model_version,
      revision,
      from,
      to,
      rows: scores.length,
      positives: labels.reduce((a, b) => a + b, 0),
    };
    let calibrator: StoredCalibrator;
    if (scores.length === 0) {
      calibrator = {
        ...base,
        calibrated: false,
        reason: 'no_rows',
        eceBefore: null,
        eceAfter: null,
        thresholds: [],
        values: [],
      };
    } else {
      const decision = needsCalibration(labels, scores);
      const model = decision.calibrate ? fitIsotonic(scores, labels) : { x: [], y: [] };
      calibrator = {
        ...base,
        calibrated: decision.calibrate,
        reason: decision.reason,
        eceBefore: decision.eceBefore,
        eceAfter: decision.eceAfter,
        thresholds: model.x,
        values: model.y,
      };
    }
    await writeCalibrator(this.deps.db, calibrator, (this.deps.now ?? Date.now)());
    return calibrator;
  }
}
