/**
 * The evaluation-window loop (SPEC 5): per model, watermark = max event time seen − allowed
 * lateness; each complete window (end ≤ watermark) after the last stored one is evaluated against
 * the version's reference, stored in `drift_results`, and shown on the gauges. A window is computed
 * from stored rows only, so a replay, a restart or a second instance writes the same rows under the
 * same key. Events arriving after their window was evaluated do not change it.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/observability/index.js';
import { windowCeil, windowEnd, windowStart } from '../engine/windows.js';
import { listReferenceVersions, type VersionKey } from '../store/references.js';
import { lastEvaluatedEnd, readDriftWindows, writeWindowResults } from '../store/results.js';
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
}

export interface EvaluatedWindow extends VersionKey {
  start: string;
  end: string;
  datasetDrift: boolean;
}

export class DriftEvaluator {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly shownEnd = new Map<string, number>();

  constructor(private readonly options: DriftEvaluatorOptions) {}

  start(): void {
    if (this.timer || this.stopped) return;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain.catch(() => undefined);
  }

  /** One pass over every model with a reference; runs never overlap. */
  runOnce(): Promise<EvaluatedWindow[]> {
    const run = this.chain.catch(() => undefined).then(() => this.evaluateAll());
    this.chain = run;
    return run;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((err: unknown) => this.options.logger.warn({ err: errorMessage(err) }, 'drift evaluation failed; retrying next run'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.options.intervalMs ?? 5_000);
        });
    }, delay);
    this.timer.unref();
  }

  /** After a restart, the gauges show the latest stored window until a newer one is evaluated. */
  private async showStored(modelId: string): Promise<void> {
    const [latest] = await readDriftWindows(this.options.db, { modelId, limit: 1 });
    if (!latest) return;
    this.shownEnd.set(modelId, Date.parse(latest.end));
    this.options.gauges.show(modelId, latest);
  }

  private async evaluateAll(): Promise<EvaluatedWindow[]> {
    const { db, service } = this.options;
    const byModel = new Map<string, string[]>();
    for (const { modelId, version } of await listReferenceVersions(db)) byModel.set(modelId, [...(byModel.get(modelId) ?? []), version]);
    const done: EvaluatedWindow[] = [];
    for (const [modelId, versions] of byModel) {
      if (this.stopped) break;
      const settings = await service.settings(modelId);
      const latest = await eventTime(db, 'max', { modelId });
      if (latest === undefined) continue;
      const spec = settings.evaluationWindow;
      // Windows ending at or before the watermark are complete.
      const until = windowStart(spec, latest - settings.allowedLatenessMs);
      for (const version of versions) {
        const key = { modelId, version };
        const last = await lastEvaluatedEnd(db, key);
        const next = await eventTime(db, 'min', key, last);
        if (next === undefined) continue;
        // After a change of window size the last end may fall inside a window: start at the next boundary.
        const from = Math.max(windowStart(spec, next), last === undefined ? -Infinity : windowCeil(spec, last));
        let to = from;
        for (let k = 0; k < (this.options.maxWindowsPerRun ?? 48) && windowEnd(spec, to) <= until; k++) to = windowEnd(spec, to);
        if (to <= from) continue;
        const reference = await service.reference(key);
        if (!reference) continue;
        const buckets = await service.evaluate(key, reference, settings, { from, to, window: spec });
        await writeWindowResults(db, key, reference.revision, buckets);
        const newest = buckets[buckets.length - 1];
        if (newest) {
          this.options.gauges.evaluated(modelId, buckets.length);
          const end = Date.parse(newest.end);
          if (end >= (this.shownEnd.get(modelId) ?? -Infinity)) {
            this.shownEnd.set(modelId, end);
            this.options.gauges.show(modelId, newest);
          }
        }
        for (const b of buckets) done.push({ ...key, start: b.start, end: b.end, datasetDrift: b.dataset_drift });
      }
      if (!this.shownEnd.has(modelId)) await this.showStored(modelId);
    }
    if (done.length > 0) this.options.logger.info({ windows: done.length }, 'drift windows evaluated');
    return done;
  }
}

/**
 * Earliest or latest event time of a model (or version), optionally at or after `after`. No FINAL:
 * a duplicate of an event has its event time, so min and max are the same with or without it.
 */
async function eventTime(db: Database, fn: 'min' | 'max', key: { modelId: string; version?: string }, after?: number): Promise<number | undefined> {
  const where = ['model_id = {model:String}'];
  if (key.version !== undefined) where.push('model_version = {version:String}');
  if (after !== undefined) where.push(`timestamp >= fromUnixTimestamp64Milli({after:Int64}, 'UTC')`);
  const result = await db.client.query({
    query: `SELECT count() AS n, toUnixTimestamp64Milli(${fn}(timestamp)) AS t FROM predictions WHERE ${where.join(' AND ')}`,
    query_params: { model: key.modelId, ...(key.version === undefined ? {} : { version: key.version }), ...(after === undefined ? {} : { after }) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number; t: number }>();
  return row && Number(row.n) > 0 ? Number(row.t) : undefined;
}
