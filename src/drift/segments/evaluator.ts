/**
 * The per-segment evaluation loop: for each model whose `segments` policy declares segmentations
 * (`evaluate`, `evaluation_windows`), each complete window of each declared segmentation (its
 * declared bucket, else the drift policy's evaluation window) after the last stored (or refused)
 * one is split into that window's segments (the `max_segments` most frequent values, `other`,
 * none), and each segment's drift and data quality is stored in `segment_results` and shown on the
 * segment gauges. A window whose segments cannot be chosen under the memory bound (too many
 * distinct values) is recorded in `segment_refused_windows` and logged, and evaluation resumes
 * after it. Like drift's loop: the watermark, the lateness and the stored rows decide everything,
 * so restarts, replays and several instances store the same rows; and each run, a segmentation
 * whose gauges are behind its stored windows (another instance's) shows the newest stored one.
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
import type { DriftBucket, Reference } from '../engine/types.js';
import { QualityService } from '../quality/service.js';
import type { QualityBucket } from '../quality/types.js';
import { DriftService } from '../service/drift-service.js';
import { newestEnd } from '../service/evaluator.js';
import type { PolicyStore } from '../store/policies.js';
import { listReferenceVersions, type VersionKey } from '../store/references.js';
import { RANGE } from '../store/sql.js';
import { firstEventTime, watermarkEventTime } from '../store/watermark.js';
import type { SegmentGauges } from './gauges.js';
import { segmentBaselines } from './segment-reference.js';
import { checkFeature, type SegmentedAnalysis } from './segmented.js';
import { recordRefusedWindow } from './refused-windows.js';
import {
  lastSegmentEnds,
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

/** What every version's run of one declared segmentation shares. */
interface SegmentationPlan {
  segmentation: string;
  window: Bucket;
  /** Windows ending at or before this are complete. */
  until: number;
  settings: DriftSettings;
  maxSegments: number;
  minReferenceRows: number;
}

/** What one run of a version's segmentation evaluates against. */
interface SegmentRun {
  key: VersionKey;
  spec: SegmentSpec;
  segmentation: string;
  reference: Reference;
  settings: DriftSettings;
  window: Bucket;
  minReferenceRows: number;
}

interface WindowBounds {
  start: number;
  end: number;
}

interface ResolvedWindow extends WindowBounds {
  segments: Segment[];
}

/** The run's windows whose segments were chosen, and the first one refused, if any (they stop there). */
interface ResolvedRun {
  resolved: ResolvedWindow[];
  refused: (WindowBounds & { reason: string }) | undefined;
}

interface SegmentBuckets {
  /** What the segment's drift was measured against (segment-reference.ts). */
  reference: StoredSegmentWindow['reference'];
  populationColumns: string[];
  note: string | undefined;
  drift: Map<number, DriftBucket>;
  quality: Map<number, QualityBucket>;
}

const filterKey = (segment: Segment) => JSON.stringify([segment.filter.sql, segment.filter.params]);

export class SegmentEvaluator {
  private readonly loop: SerialLoop<StoredSegmentWindow[]>;
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
    const done: StoredSegmentWindow[] = [];
    for (const segmentation of segments.declared) {
      const window = segments.windowFor(segmentation) ?? settings.evaluationWindow;
      const until = bucketStart(window, latest - settings.allowedLatenessMs);
      const plan = {
        segmentation,
        window,
        until,
        settings,
        maxSegments: segments.maxSegments,
        minReferenceRows: segments.minReferenceRows,
      };
      done.push(...(await this.evaluateDeclared(modelId, versions, plan)));
    }
    return done;
  }

  /** One segmentation of every version; its gauges then show the newest stored window, whoever stored it. */
  private async evaluateDeclared(
    modelId: string,
    versions: readonly string[],
    plan: SegmentationPlan,
  ): Promise<StoredSegmentWindow[]> {
    const { db, gauges } = this.options;
    const done: StoredSegmentWindow[] = [];
    const ends: [string, number | undefined][] = [];
    for (const version of versions) {
      const key = { modelId, version };
      // Read every run anyway (where evaluation resumes), so noticing other instances' windows costs no query.
      const { stored, refused } = await lastSegmentEnds(db, key, plan.segmentation);
      // Past a refused window too: it is recorded, and its values (closed) would refuse it again.
      const last = refused === undefined || (stored ?? -Infinity) > refused ? stored : refused;
      const evaluated = await this.evaluateSegmentation(key, plan, last);
      done.push(...evaluated);
      // The gauges show stored windows only: a refused one is never theirs to show.
      ends.push([version, newestEnd(stored, evaluated)]);
    }
    const { segmentation } = plan;
    gauges.show(modelId, segmentation, done);
    const shown = ends.every(([v, end]) => end === undefined || gauges.shows(modelId, segmentation, v, end));
    // Another instance stored a window these gauges do not show (or this one just started).
    if (!shown)
      gauges.show(modelId, segmentation, await readSegmentWindows(db, { modelId, segmentation, limit: 1 }));
    return done;
  }

  private async evaluateSegmentation(
    key: VersionKey,
    plan: SegmentationPlan,
    last: number | undefined,
  ): Promise<StoredSegmentWindow[]> {
    const { db } = this.options;
    const { segmentation, window, until, settings, maxSegments } = plan;
    const next = await firstEventTime(db, key, last);
    if (next === undefined) return [];
    const from = Math.max(
      bucketStart(window, next),
      last === undefined ? -Infinity : bucketCeil(window, last),
    );
    const reference = await this.options.drift.reference(key);
    if (!reference) return [];
    const spec = parseSegment(segmentation);
    // Logged once per version, segmentation and reference revision: the loop runs every few seconds.
    const skipId = JSON.stringify([key.modelId, key.version, segmentation, reference.revision]);
    try {
      checkFeature(spec, reference, settings);
    } catch (err) {
      if (!(err instanceof SegmentError)) throw err;
      if (!this.skipped.has(skipId)) this.skip(skipId, key, segmentation, err);
      return [];
    }
    const windows: WindowBounds[] = [];
    let start = from;
    for (let k = 0; k < (this.options.maxWindowsPerRun ?? 24); k++) {
      const end = bucketEnd(window, start);
      if (end > until) break;
      windows.push({ start, end });
      start = end;
    }
    const run = {
      key,
      spec,
      segmentation,
      reference,
      settings,
      window,
      minReferenceRows: plan.minReferenceRows,
    };
    const { resolved, refused } = await this.resolveWindows(run, windows, maxSegments);
    const out = await this.evaluateWindows(run, resolved);
    // One insert for the run: a failure stores none of it and the next run starts over.
    await writeSegmentWindows(db, out);
    // Only after the windows before it are stored: the refused window moves the resume point past them.
    if (refused)
      await recordRefusedWindow(db, this.options.logger, {
        model_id: key.modelId,
        version: key.version,
        segmentation,
        start: new Date(refused.start).toISOString(),
        end: new Date(refused.end).toISOString(),
        reason: refused.reason,
        reference_revision: reference.revision,
      });
    return out;
  }

  private skip(id: string, key: VersionKey, segmentation: string, err: SegmentError): void {
    if (this.skipped.size > 10_000) this.skipped.clear();
    this.skipped.add(id);
    this.options.logger.warn(
      { model: key.modelId, version: key.version, segmentation, reason: err.message },
      'declared segmentation cannot be evaluated for this version; skipped',
    );
  }

  /**
   * Each window's segments: its `maxSegments` most frequent values, `other`, none; up to the first
   * window refused (too many distinct values under the memory bound), which ends the run.
   */
  private async resolveWindows(
    run: SegmentRun,
    windows: readonly WindowBounds[],
    maxSegments: number,
  ): Promise<ResolvedRun> {
    const resolved: ResolvedWindow[] = [];
    for (const w of windows) {
      const scope = { model: run.key.modelId, versions: [run.key.version], from: w.start, to: w.end };
      try {
        const segments = await resolveSegments(this.options.db, run.spec, scope, maxSegments, {
          ...this.options.segmented.resolveOptions(),
          absentIsSegment: true,
        });
        resolved.push({ ...w, segments });
      } catch (err) {
        if (!(err instanceof SegmentError)) throw err;
        return { resolved, refused: { ...w, reason: err.message } };
      }
    }
    return { resolved, refused: undefined };
  }

  /**
   * Each distinct segment (by its filter) is read once over the run's windows it is a segment
   * of, not once per window: a backlog of 24 windows cost 24 drift and 24 quality reads per
   * segment. The windows are whole buckets of `run.window`, so a range's buckets are theirs.
   */
  private async evaluateWindows(
    run: SegmentRun,
    windows: readonly ResolvedWindow[],
  ): Promise<StoredSegmentWindow[]> {
    const spans = new Map<string, { segment: Segment; from: number; to: number }>();
    for (const w of windows)
      for (const segment of w.segments) {
        const span = spans.get(filterKey(segment));
        if (span) span.to = w.end;
        else spans.set(filterKey(segment), { segment, from: w.start, to: w.end });
      }
    const read = new Map<string, SegmentBuckets>();
    for (const [id, span] of spans) read.set(id, await this.evaluateSegment(run, span.segment, span));
    const out: StoredSegmentWindow[] = [];
    for (const w of windows) {
      const bounds = { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() };
      for (const segment of w.segments) {
        const buckets = read.get(filterKey(segment));
        const driftBucket = buckets?.drift.get(w.start);
        const qualityBucket = buckets?.quality.get(w.start);
        if (!buckets || !driftBucket || !qualityBucket) continue;
        out.push({
          model_id: run.key.modelId,
          version: run.key.version,
          segmentation: run.segmentation,
          ...bounds,
          value: segment.value,
          other: segment.other,
          predictions: segment.predictions,
          reference: buckets.reference,
          ...(buckets.reference === 'mixed' ? { population_columns: buckets.populationColumns } : {}),
          ...(buckets.note === undefined ? {} : { note: buckets.note }),
          reference_revision: run.reference.revision,
          drift: { ...driftBucket, ...bounds },
          quality: withoutOwnColumn(run.spec, segment, { ...qualityBucket, ...bounds }),
        });
      }
    }
    return out;
  }

  /** One segment's drift and quality buckets over a range of whole windows, by window start. */
  private async evaluateSegment(
    run: SegmentRun,
    segment: Segment,
    span: { from: number; to: number },
  ): Promise<SegmentBuckets> {
    const { db, drift, models, policies, logger, segmented } = this.options;
    const { key, reference, settings, segmentation } = run;
    const scoped = restrictPredictions(db, RANGE, segment.filter);
    // As the computed route: drift without the segmenting feature, each column against the
    // segment's own reference rows when it has enough of them; quality keeps the feature (see
    // withoutOwnColumn), its baseline missing rates the segment's own when it has enough rows.
    const own = await segmented.ownReference(scoped, key, reference, settings, segmentation, segment);
    const base = segmentBaselines(run.spec, reference, own, run.minReferenceRows);
    const range = { ...span, window: run.window };
    const driftService = new DriftService({ db: scoped, models, policies, logger, limits: drift.limits });
    const driftBuckets = await driftService.evaluate(key, base.drift, settings, range);
    const quality = new QualityService({ db: scoped, drift, policies, logger });
    const qualityBuckets = await quality.evaluate(key, base.quality, settings, range);
    const byStart = <B extends { start: string }>(buckets: B[]) =>
      new Map(buckets.map((b) => [Date.parse(b.start), b]));
    return {
      reference: base.reference,
      populationColumns: base.populationColumns,
      note: base.note,
      drift: byStart(driftBuckets),
      quality: byStart(qualityBuckets),
    };
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
