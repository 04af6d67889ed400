/**
 * The per-segment evaluation loop: for each model whose `segments` policy declares segmentations
 * (`evaluate`, `evaluation_windows`), each complete window of each declared segmentation (its
 * declared bucket, else the drift policy's evaluation window) after the last stored one is split
 * into that window's segments (the `max_segments` most frequent values, `other`, none), and each
 * segment's drift and data quality is stored in `segment_results` and shown on the segment
 * gauges. Like drift's loop: the watermark, the lateness and the stored rows decide everything,
 * so restarts, replays and several instances store the same rows.
 */
import type { ModelRegistry } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import { SerialLoop } from '../../platform/loop/index.js';
import { bucketCeil, bucketEnd, bucketStart, type Bucket } from '../../platform/time/index.js';
import {
  parseSegment,
  resolveSegments,
  restrictPredictions,
  SegmentError,
  type Segment,
  type SegmentSpec,
} from '../../segments/index.js';
import type { DriftSettings } from '../engine/settings.js';
import type { Reference } from '../engine/types.js';
import { QualityService } from '../quality/service.js';
import type { QualityBucket } from '../quality/types.js';
import { DriftService } from '../service/drift-service.js';
import type { PolicyStore } from '../store/policies.js';
import { listReferenceVersions, type VersionKey } from '../store/references.js';
import { RANGE } from '../store/sql.js';
import { firstEventTime, watermarkEventTime } from '../store/watermark.js';
import type { SegmentGauges } from './gauges.js';
import { segmentReference } from './segment-reference.js';
import { checkFeature, type SegmentedAnalysis } from './segmented.js';
import {
  lastSegmentEnd,
  readSegmentWindows,
  writeSegmentWindows,
  type StoredSegmentWindow,
} from './store.js';

export interface SegmentEvaluatorOptions {
  db: Database;
  drift: DriftService;
  segmented: SegmentedAnalysis;
  models: ModelRegistry;
  policies: PolicyStore;
  gauges: SegmentGauges;
  logger: Logger;
  /** Pause between runs. @default 5000 */
  intervalMs?: number;
  /** Windows per version and segmentation per run, so a backlog does not hold up other models. @default 24 */
  maxWindowsPerRun?: number;
  /** As drift's evaluator: events stamped later than this after ingest do not move the watermark. @default 86_400_000 */
  maxFutureSkewMs?: number;
}

/** Segment references kept between windows (a segment's reference is read from the reference range). */
const CACHED_REFERENCES = 256;

export class SegmentEvaluator {
  private readonly loop: SerialLoop<StoredSegmentWindow[]>;
  private readonly references = new Map<string, Reference | undefined>();
  private readonly restored = new Set<string>();
  private readonly skipped = new Set<string>();

  constructor(private readonly options: SegmentEvaluatorOptions) {
    this.loop = new SerialLoop(() => this.evaluateAll(), {
      intervalMs: options.intervalMs ?? 5_000,
      onError: (err) => options.logger.error({ err }, 'segment evaluation run failed; retrying next run'),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every model with declared segmentations; resolves with the windows stored. */
  runOnce(): Promise<StoredSegmentWindow[]> {
    return this.loop.runOnce();
  }

  private async evaluateAll(): Promise<StoredSegmentWindow[]> {
    const byModel = new Map<string, string[]>();
    for (const { modelId, version } of await listReferenceVersions(this.options.db))
      byModel.set(modelId, [...(byModel.get(modelId) ?? []), version]);
    const done: StoredSegmentWindow[] = [];
    for (const [modelId, versions] of byModel) {
      if (this.loop.stopped) break;
      try {
        done.push(...(await this.evaluateModel(modelId, versions)));
      } catch (err) {
        this.options.logger.error(
          { err, model: modelId },
          'segment evaluation of a model failed; retrying next run, other models go on',
        );
      }
    }
    return done;
  }

  private async evaluateModel(modelId: string, versions: readonly string[]): Promise<StoredSegmentWindow[]> {
    const segments = await this.options.segmented.settings(modelId);
    // A segmentation taken out of the policy (or the whole section) takes its series with it.
    this.options.gauges.keepOnly(modelId, segments.declared);
    if (segments.declared.length === 0) return [];
    const settings = await this.options.drift.settings(modelId);
    const latest = await watermarkEventTime(this.options.db, modelId, {
      maxFutureSkewMs: this.options.maxFutureSkewMs ?? 86_400_000,
      rank: 2,
    });
    if (latest === undefined) return [];
    await this.restoreGauges(modelId);
    const done: StoredSegmentWindow[] = [];
    for (const segmentation of segments.declared) {
      const window = segments.windowFor(segmentation) ?? settings.evaluationWindow;
      const until = bucketStart(window, latest - settings.allowedLatenessMs);
      const stored: StoredSegmentWindow[] = [];
      for (const version of versions) {
        const key = { modelId, version };
        stored.push(
          ...(await this.evaluateSegmentation(
            key,
            segmentation,
            window,
            until,
            settings,
            segments.maxSegments,
          )),
        );
      }
      this.options.gauges.show(modelId, segmentation, stored);
      done.push(...stored);
    }
    return done;
  }

  /** After a restart, the gauges show each segmentation's latest stored window until a newer one is stored. */
  private async restoreGauges(modelId: string): Promise<void> {
    if (this.restored.has(modelId)) return;
    const latest = await readSegmentWindows(this.options.db, { modelId, limit: 1 });
    for (const segmentation of new Set(latest.map((w) => w.segmentation)))
      this.options.gauges.show(
        modelId,
        segmentation,
        latest.filter((w) => w.segmentation === segmentation),
      );
    this.restored.add(modelId);
  }

  private async evaluateSegmentation(
    key: VersionKey,
    segmentation: string,
    window: Bucket,
    until: number,
    settings: DriftSettings,
    maxSegments: number,
  ): Promise<StoredSegmentWindow[]> {
    const { db } = this.options;
    const last = await lastSegmentEnd(db, key, segmentation);
    const next = await firstEventTime(db, key, last);
    if (next === undefined) return [];
    const from = Math.max(
      bucketStart(window, next),
      last === undefined ? -Infinity : bucketCeil(window, last),
    );
    const reference = await this.options.drift.reference(key);
    if (!reference) return [];
    const spec = parseSegment(segmentation);
    try {
      checkFeature(spec, reference, settings);
    } catch (err) {
      if (!(err instanceof SegmentError)) throw err;
      // Once per version, segmentation and reference revision: the loop runs every few seconds.
      const id = JSON.stringify([key.modelId, key.version, segmentation, reference.revision]);
      if (this.skipped.has(id)) return [];
      if (this.skipped.size > 10_000) this.skipped.clear();
      this.skipped.add(id);
      this.options.logger.warn(
        { model: key.modelId, version: key.version, segmentation, reason: err.message },
        'declared segmentation cannot be evaluated for this version; skipped',
      );
      return [];
    }
    const out: StoredSegmentWindow[] = [];
    let start = from;
    for (let k = 0; k < (this.options.maxWindowsPerRun ?? 24); k++) {
      const end = bucketEnd(window, start);
      if (end > until) break;
      out.push(
        ...(await this.evaluateWindow(key, spec, segmentation, reference, settings, maxSegments, {
          start,
          end,
          window,
        })),
      );
      start = end;
    }
    // One insert for the run: a failure stores none of it and the next run starts over.
    await writeSegmentWindows(db, out);
    return out;
  }

  private async evaluateWindow(
    key: VersionKey,
    spec: SegmentSpec,
    segmentation: string,
    reference: Reference,
    settings: DriftSettings,
    maxSegments: number,
    w: { start: number; end: number; window: Bucket },
  ): Promise<StoredSegmentWindow[]> {
    const { db, drift, models, policies, logger } = this.options;
    const segments = await resolveSegments(
      db,
      spec,
      { model: key.modelId, versions: [key.version], from: w.start, to: w.end },
      maxSegments,
      { absentIsSegment: true },
    );
    const out: StoredSegmentWindow[] = [];
    const range = { from: w.start, to: w.end, window: w.window };
    for (const segment of segments) {
      const scoped = restrictPredictions(db, RANGE, segment.filter);
      const own = await this.segmentReference(scoped, key, reference, settings, segmentation, segment);
      const service = new DriftService({ db: scoped, models, policies, logger, limits: drift.limits });
      const [driftBucket] = await service.evaluate(key, own ?? reference, settings, range);
      const quality = new QualityService({ db: scoped, drift, policies, logger });
      const [qualityBucket] = await quality.evaluate(key, reference, settings, range);
      if (!driftBucket || !qualityBucket) continue;
      const bounds = { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() };
      out.push({
        model_id: key.modelId,
        version: key.version,
        segmentation,
        ...bounds,
        value: segment.value,
        other: segment.other,
        predictions: segment.predictions,
        reference: own ? 'segment' : 'population',
        reference_revision: reference.revision,
        drift: { ...driftBucket, ...bounds },
        quality: withoutOwnColumn(spec, segment, { ...qualityBucket, ...bounds }),
      });
    }
    return out;
  }

  /** The segment's own reference, cached by reference revision and the segment's filter. */
  private async segmentReference(
    db: Database,
    key: VersionKey,
    reference: Reference,
    settings: DriftSettings,
    segmentation: string,
    segment: Segment,
  ): Promise<Reference | undefined> {
    // The drift policy's kinds shape a reference too.
    const id = JSON.stringify([
      key.modelId,
      key.version,
      reference.revision,
      settings.columns,
      segmentation,
      segment.filter.params,
    ]);
    if (this.references.has(id)) return this.references.get(id);
    const own = await segmentReference(db, key, reference, settings);
    if (this.references.size >= CACHED_REFERENCES) this.references.clear();
    this.references.set(id, own);
    return own;
  }
}

/**
 * The predictions without the segmenting feature are, by definition, missing it: that column's
 * `missing` and `column_missing` flags say nothing there, and would fire every window. It is left
 * out of that segment's stored quality (the computed route still lists it).
 */
function withoutOwnColumn(spec: SegmentSpec, segment: Segment, bucket: QualityBucket): QualityBucket {
  if (spec.kind !== 'feature' || segment.value !== null || segment.other) return bucket;
  const columns = bucket.columns.filter((c) => c.column !== spec.name);
  return { ...bucket, columns, flagged_columns: columns.filter((c) => c.flagged).length };
}
