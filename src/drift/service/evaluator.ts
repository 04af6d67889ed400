/**
 * The evaluation-window loop (SPEC 5): per model, watermark = the model's event time (robust to
 * outliers, see `watermarkEventTime`) − allowed lateness; each complete window (end ≤ watermark)
 * after the last stored one is evaluated against the version's reference, stored in
 * `drift_results`, and shown on the gauges. A window is computed from stored rows only, so a
 * replay, a restart or a second instance writes the same rows under the same key. Events arriving
 * after their window was evaluated do not change it. Each run, a model whose gauges are behind its
 * stored windows (another instance stored them, or this one just started) shows the newest stored
 * one. One model's failure is logged, counted and retried next run; it never keeps the loop from
 * the models after it.
 */
import { SerialLoop } from '../../platform/loop/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import type { DriftSettings } from '../engine/settings.js';
import type { Reference } from '../engine/types.js';
import { bucketCeil, bucketEnd, bucketStart, type Bucket } from '../../platform/time/index.js';
import { listReferenceVersions, type VersionKey } from '../store/references.js';
import { lastEvaluatedEnd, readDriftWindows, writeWindowResults } from '../store/results.js';
import { firstEventTime, watermarkEventTime } from '../store/watermark.js';
import type { DriftService } from './drift-service.js';
import type { DriftGauges } from './gauges.js';

export interface DriftEvaluatorOptions {
  db: Database;
  service: DriftService;
  gauges: DriftGauges;
  logger: Logger;
  /** Pause between runs. @default 5000 */
  intervalMs?: number;
  /** Windows per version per run, so a long backlog does not hold up other models. @default 48 */
  maxWindowsPerRun?: number;
  /**
   * Events stamped more than this after their own ingest time do not move the watermark (the
   * collectors' `MODELWATCH_MAX_FUTURE_SKEW`). @default 86_400_000 (1 day)
   */
  maxFutureSkewMs?: number;
  /** The watermark follows the k-th latest distinct event, so fewer than k outliers cannot move it. @default 2 */
  watermarkRank?: number;
  /** More evaluations of the same windows (data quality), run before drift's rows are stored. @default [] */
  windowHooks?: readonly WindowHook[];
  /**
   * Show more of a model's newest stored windows (data quality's) whenever drift's gauges are behind
   * the store; run before drift's are shown, so when one fails the next run retries both. @default []
   */
  storedHooks?: readonly StoredHook[];
}

/**
 * Evaluates and stores something else over the windows drift is about to store. It runs first,
 * so when it fails drift's rows are not written and the next run retries both.
 */
export type WindowHook = (
  key: VersionKey,
  reference: Reference,
  settings: DriftSettings,
  range: { from: number; to: number; window: Bucket },
) => Promise<void>;

/** Shows the newest stored windows of something evaluated with drift's (its data quality) for a model. */
export type StoredHook = (modelId: string) => Promise<void>;

export interface EvaluatedWindow extends VersionKey {
  start: string;
  end: string;
  datasetDrift: boolean;
}

const DAY = 86_400_000;

/** The end of a version's newest stored window: the newest evaluated this run, else the one stored before. */
export function newestEnd(
  last: number | undefined,
  evaluated: readonly { end: string }[],
): number | undefined {
  const newest = evaluated[evaluated.length - 1];
  return newest ? Date.parse(newest.end) : last;
}

export class DriftEvaluator {
  private readonly loop: SerialLoop<EvaluatedWindow[]>;

  constructor(private readonly options: DriftEvaluatorOptions) {
    this.loop = new SerialLoop(() => this.evaluateAll(), {
      intervalMs: this.options.intervalMs ?? 5_000,
      onError: (err) =>
        // Only listing the references can fail here (each model's failure is handled on its own).
        this.options.logger.error({ err }, 'drift evaluation run failed; retrying next run'),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every model with a reference; runs never overlap. */
  runOnce(): Promise<EvaluatedWindow[]> {
    return this.loop.runOnce();
  }

  private get stopped(): boolean {
    return this.loop.stopped;
  }

  /** The latest stored window of every version, whoever evaluated it; the gauges ignore an older one. */
  private async showStored(modelId: string): Promise<void> {
    for (const hook of this.options.storedHooks ?? []) await hook(modelId);
    for (const latest of await readDriftWindows(this.options.db, { modelId, limit: 1 }))
      this.options.gauges.show({ modelId, version: latest.version }, latest);
  }

  private async evaluateAll(): Promise<EvaluatedWindow[]> {
    const byModel = new Map<string, string[]>();
    for (const { modelId, version } of await listReferenceVersions(this.options.db))
      byModel.set(modelId, [...(byModel.get(modelId) ?? []), version]);
    const done: EvaluatedWindow[] = [];
    for (const [modelId, versions] of byModel) {
      if (this.stopped) break;
      try {
        done.push(...(await this.evaluateModel(modelId, versions)));
      } catch (err) {
        this.options.gauges.failed(modelId);
        this.options.logger.error(
          { err, model: modelId },
          'drift evaluation of a model failed; retrying next run, other models go on',
        );
      }
    }
    if (done.length > 0) this.options.logger.info({ windows: done.length }, 'drift windows evaluated');
    return done;
  }

  private async evaluateModel(modelId: string, versions: readonly string[]): Promise<EvaluatedWindow[]> {
    const settings = await this.options.service.settings(modelId);
    const latest = await watermarkEventTime(this.options.db, modelId, {
      maxFutureSkewMs: this.options.maxFutureSkewMs ?? DAY,
      rank: this.options.watermarkRank ?? 2,
    });
    if (latest === undefined) return [];
    // Windows ending at or before the watermark are complete.
    const until = bucketStart(settings.evaluationWindow, latest - settings.allowedLatenessMs);
    const done: EvaluatedWindow[] = [];
    const ends: [VersionKey, number | undefined][] = [];
    for (const version of versions) {
      const key = { modelId, version };
      // Read every run anyway (where evaluation resumes), so noticing other instances' windows costs no query.
      const last = await lastEvaluatedEnd(this.options.db, key);
      const evaluated = await this.evaluateVersion(key, settings, until, last);
      done.push(...evaluated);
      ends.push([key, newestEnd(last, evaluated)]);
    }
    const shown = ends.every(([key, end]) => end === undefined || this.options.gauges.shows(key, end));
    // Another instance stored a window these gauges do not show (or this one just started).
    if (!shown) await this.showStored(modelId);
    return done;
  }

  private async evaluateVersion(
    key: VersionKey,
    settings: DriftSettings,
    until: number,
    last: number | undefined,
  ): Promise<EvaluatedWindow[]> {
    const { db, service } = this.options;
    const spec = settings.evaluationWindow;
    const next = await firstEventTime(db, key, last);
    if (next === undefined) return [];
    // After a change of window size the last end may fall inside a window: start at the next boundary.
    const from = Math.max(bucketStart(spec, next), last === undefined ? -Infinity : bucketCeil(spec, last));
    let to = from;
    for (let k = 0; k < (this.options.maxWindowsPerRun ?? 48) && bucketEnd(spec, to) <= until; k++)
      to = bucketEnd(spec, to);
    if (to <= from) return [];
    const reference = await service.reference(key);
    if (!reference) return [];
    const buckets = await service.evaluate(key, reference, settings, { from, to, window: spec });
    for (const hook of this.options.windowHooks ?? [])
      await hook(key, reference, settings, { from, to, window: spec });
    await writeWindowResults(db, key, reference.revision, buckets);
    const newest = buckets[buckets.length - 1];
    if (newest) {
      this.options.gauges.evaluated(key.modelId, buckets.length);
      this.options.gauges.show(key, newest);
    }
    return buckets.map((b) => ({ ...key, start: b.start, end: b.end, datasetDrift: b.dataset_drift }));
  }
}
