/**
 * Estimated performance of one binary-classifier version per bucket (SPEC 4.1): the calibrator
 * of its reference revision, NannyML's estimates from ClickHouse, the band of the reference
 * period's realized buckets, alerts, and the metrics route's realized figures beside them.
 */
import { defaultVersion, type DriftService } from '../../drift/index.js';
import { computeModelMetrics, type MetricsBucket } from '../../metrics/index.js';
import { normalizeClass, type ModelRegistry } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { bucketEnd, countBuckets, MAX_BUCKETS, type Bucket } from '../../platform/time/index.js';
import { estimateQuery, type EstimateRow } from '../estimate-sql.js';
import { ESTIMATED_METRICS, type Estimates } from '../estimators.js';
import { EstimationError, estimationQueryError } from '../errors.js';
import {
  clickhouseCalibratorStore,
  readBandClasses,
  readLabeledCounts,
  type ReferenceKey,
  type StoredCalibrator,
} from '../store/calibrators.js';
import { alerts, MIN_BAND_BUCKETS, nannymlRealized, referenceBands, type Bands } from './band.js';
import type { CalibrationPool } from '../calibration/fit-pool.js';
import { Calibrators, REFIT_INTERVAL_MS, type VersionRecord } from './calibrators.js';

export interface EstimationRequest {
  model: string;
  /**
   * The version; default: the drift route's default among the binary-classification versions
   * (the latest first seen in production, else the latest first seen).
   */
  version?: string | undefined;
  bucket: Bucket;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

export interface EstimatedBucket {
  start: string;
  end: string;
  /** Predictions with a finite score: the rows the estimate is over. */
  count: number;
  estimated: Estimates;
  band: Bands;
  alerts: string[];
  realized: Estimates | null;
}

export interface EstimatedPerformance {
  model_id: string;
  version: string;
  method: 'cbpe';
  calibrated: boolean;
  reference: {
    from: string;
    to: string;
    revision: number;
    rows: number;
    positives: number;
    calibration_reason: StoredCalibrator['reason'];
    ece_before: number | null;
    ece_after: number | null;
  };
  /** Why estimates or bands are missing, in words (a reference too short for a band, unusable scores). */
  warnings: string[];
  buckets: EstimatedBucket[];
}

export interface EstimationServiceDeps {
  db: Database;
  models: ModelRegistry;
  drift: Pick<DriftService, 'reference'>;
  /** Where calibration fits run; without one, on the calling thread. */
  calibrationPool?: CalibrationPool | undefined;
  /** @default Date.now */
  now?: () => number;
}

function pickMetrics(b: MetricsBucket): Estimates {
  return { roc_auc: b.roc_auc, accuracy: b.accuracy, precision: b.precision, recall: b.recall, f1: b.f1 };
}

export class EstimationService {
  readonly calibrators: Calibrators;

  constructor(private readonly deps: EstimationServiceDeps) {
    this.calibrators = new Calibrators({
      store: clickhouseCalibratorStore(deps.db),
      drift: deps.drift,
      now: deps.now,
      ...(deps.calibrationPool && { fit: deps.calibrationPool.fit.bind(deps.calibrationPool) }),
    });
  }

  /** The version a request names, checked: known and a binary classifier. */
  async resolveVersion(model: string, version: string | undefined): Promise<VersionRecord> {
    const known = await this.deps.models.list(model);
    if (known.length === 0) throw new EstimationError('UNKNOWN_MODEL', `unknown model '${model}'`);
    if (version !== undefined) {
      const found = known.find((v) => v.model_version === version);
      if (!found)
        throw new EstimationError('UNKNOWN_VERSION', `model '${model}' has no version '${version}'`);
      if (found.task !== 'binary_classification')
        throw new EstimationError(
          'NOT_BINARY',
          `model '${model}' version '${version}' is a ${found.task} model: estimated performance (CBPE) covers binary classifiers`,
        );
      return found;
    }
    const binary = known.filter((v) => v.task === 'binary_classification');
    if (binary.length === 0)
      throw new EstimationError(
        'NOT_BINARY',
        `model '${model}' has no binary-classification version: CBPE covers binary classifiers`,
      );
    // The drift route's rule, so a challenger registered in shadow or an
    // archived version does not take over the default, and both routes mean the same version.
    const chosen = defaultVersion(binary);
    return binary.find((v) => v.model_version === chosen)!;
  }

  async estimate(request: EstimationRequest): Promise<EstimatedPerformance> {
    const version = await this.resolveVersion(request.model, request.version);
    const calibrator = await this.calibrators.get(version);
    const reference = referenceOf(version, calibrator);
    const [rows, realized, bands, referenceCounts] = await Promise.all([
      this.estimateRows(version, calibrator, request.bucket, request.from, request.to),
      computeModelMetrics(this.deps.db, {
        model: request.model,
        versions: [version],
        bucket: request.bucket.text,
        from: request.from,
        to: request.to,
      }),
      this.bands(version, reference, request.bucket),
      // Only without a calibrator row: is it "no label yet", or "labels but no score"?
      calibrator.rows === 0 ? readLabeledCounts(this.deps.db, reference) : undefined,
    ]).catch((err: unknown) => {
      throw estimationQueryError(err) ?? err;
    });
    const warnings = estimateWarnings({
      calibrator,
      stale: this.calibrators.isStale(calibrator),
      bands,
      bucket: request.bucket,
      rows,
      labeled: referenceCounts,
    });
    const realizedByStart = new Map(realized.buckets.map((b) => [Date.parse(b.start), b]));
    return {
      model_id: request.model,
      version: version.model_version,
      method: 'cbpe',
      calibrated: calibrator.calibrated,
      reference: {
        from: new Date(calibrator.from).toISOString(),
        to: new Date(calibrator.to).toISOString(),
        revision: calibrator.revision,
        rows: calibrator.rows,
        positives: calibrator.positives,
        calibration_reason: calibrator.reason,
        ece_before: calibrator.eceBefore,
        ece_after: calibrator.eceAfter,
      },
      warnings,
      buckets: rows.map((row) => {
        const estimated = Object.fromEntries(
          ESTIMATED_METRICS.map((m) => [m, finiteOrNull(row[m])]),
        ) as unknown as Estimates;
        const labeled = realizedByStart.get(row.start_ms);
        return {
          start: new Date(row.start_ms).toISOString(),
          end: new Date(bucketEnd(request.bucket, row.start_ms)).toISOString(),
          count: Number(row.count),
          estimated,
          band: bands.bands,
          alerts: alerts(estimated, bands.bands),
          realized: labeled && labeled.labeled > 0 ? pickMetrics(labeled) : null,
        };
      }),
    };
  }

  /** NannyML's estimates per bucket of [from, to), computed in ClickHouse. */
  async estimateRows(
    version: VersionRecord,
    calibrator: StoredCalibrator,
    bucket: Bucket,
    from: number,
    to: number,
  ): Promise<EstimateRow[]> {
    const { query, params } = estimateQuery({
      model: version.model_id,
      versions: [
        {
          version: version.model_version,
          positiveClass: normalizeClass(version.positive_class),
          thresholds: calibrator.thresholds,
          values: calibrator.values,
        },
      ],
      bucket,
      from,
      to,
    });
    const result = await this.deps.db.client.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<EstimateRow>();
  }

  /**
   * The band from the reference period cut into the request's buckets, with NannyML's realized
   * values; none when that cut holds more than MAX_BUCKETS buckets (the
   * metrics route refuses such a range, and each bucket would be computed and cached).
   */
  private async bands(
    version: VersionRecord,
    reference: ReferenceKey,
    bucket: Bucket,
  ): Promise<ReferenceBands> {
    const buckets = countBuckets(bucket, reference.from, reference.to);
    if (buckets > MAX_BUCKETS) return { bands: NO_BANDS, referenceBuckets: buckets };
    const [realized, classes] = await Promise.all([
      computeModelMetrics(this.deps.db, {
        model: version.model_id,
        versions: [version],
        bucket: bucket.text,
        from: reference.from,
        to: reference.to,
      }),
      readBandClasses(this.deps.db, reference, bucket),
    ]);
    const classesByStart = new Map(classes.map((c) => [c.start_ms, c]));
    const bands = referenceBands(
      realized.buckets.map((b) => {
        const c = classesByStart.get(Date.parse(b.start));
        return nannymlRealized({
          realized: pickMetrics(b),
          labeled: c?.labeled ?? 0,
          labelPositives: c?.label_positives ?? 0,
          predictedPositives: c?.predicted_positives ?? 0,
        });
      }),
    );
    return { bands, referenceBuckets: buckets };
  }
}

interface ReferenceBands {
  bands: Bands;
  /** The reference period cut into the request's buckets: how many buckets. */
  referenceBuckets: number;
}

const NO_BANDS = Object.fromEntries(ESTIMATED_METRICS.map((m) => [m, null])) as unknown as Bands;

function referenceOf(version: VersionRecord, calibrator: StoredCalibrator): ReferenceKey {
  return {
    modelId: version.model_id,
    version: version.model_version,
    positiveClass: normalizeClass(version.positive_class),
    from: calibrator.from,
    to: calibrator.to,
  };
}

function estimateWarnings(input: {
  calibrator: StoredCalibrator;
  /** Labels of the reference period changed since the calibrator was fitted (a refit is due). */
  stale: boolean;
  bands: ReferenceBands;
  bucket: Bucket;
  rows: readonly EstimateRow[];
  /** Read when the calibrator has no row: the labeled reference predictions, and those with a score. */
  labeled: { labeled: number; scored: number } | undefined;
}): string[] {
  const { calibrator, bucket, rows, labeled } = input;
  const { bands, referenceBuckets } = input.bands;
  const warnings: string[] = [];
  if (calibrator.reason === 'no_rows') {
    if (labeled && labeled.labeled > 0 && labeled.scored === 0)
      warnings.push(
        `the version sends no \`score\`: none of the reference period's ${labeled.labeled} labeled predictions has a finite score, ` +
          "and CBPE needs each prediction's score (the positive class's probability, SPEC 3.2) to calibrate and estimate; " +
          'send `score` with the predictions',
      );
    else if (labeled && labeled.scored > 0)
      warnings.push(
        `labels of the reference period have landed (${labeled.scored} labeled predictions with a score) since the calibrator was fitted on none: ` +
          'the calibrator is fitted on them shortly, and scores are used as they are meanwhile',
      );
    else
      warnings.push(
        'the reference period has no labeled prediction with a score yet: scores are used as they are, and the calibrator is fitted again as its labels arrive',
      );
  } else if (input.stale)
    warnings.push(
      `labels of the reference period changed since the calibrator was fitted on ${calibrator.rows} labeled predictions: ` +
        `it is fitted again in the background, at most every ${REFIT_INTERVAL_MS / 60_000} minutes, and the earlier fit serves meanwhile`,
    );
  const unbanded = ESTIMATED_METRICS.filter((m) => bands[m] === null);
  if (referenceBuckets > MAX_BUCKETS)
    warnings.push(
      `no band (so no alert): the reference period cut into ${bucket.text} buckets is ${referenceBuckets} buckets, more than the ${MAX_BUCKETS} a request may cover; ask for a larger bucket to get a band`,
    );
  else if (unbanded.length > 0)
    warnings.push(
      `no band (so no alert) for ${unbanded.join(', ')}: the reference period cut into ${bucket.text} buckets has fewer than ${MIN_BAND_BUCKETS} buckets with a value ` +
        '(a bucket whose labels, or for precision, recall and F1 whose predictions, hold one class has none, as in NannyML)',
    );
  const unusable = rows.filter((r) => Number(r.unusable_scores) > 0).length;
  if (unusable > 0)
    warnings.push(
      `${unusable} bucket(s) hold scores outside [0, 1] and the version is not calibrated: a score must be the positive class's probability, so they have no estimates`,
    );
  return warnings;
}

function finiteOrNull(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : value;
}
