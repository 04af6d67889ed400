/**
 * Change-detection gauges for the models that ask for them (a `change_detection` policy
 * section): each version's detections over at least the trailing `window` (default 7 days) of
 * labeled predictions, recomputed from stored rows every minute, so they are right again after a
 * restart without any state of their own. Opt-in because each refresh reads the window's losses.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ModelRegistry } from '../models/index.js';
import { errorMessage } from '../platform/errors.js';
import { SerialLoop } from '../platform/loop/index.js';
import type { Logger } from '../platform/observability/index.js';
import { parseDuration } from '../platform/time/index.js';
import { ChangeDetectionError } from './errors.js';
import type { ChangeDetectionService } from './service.js';
import { DEFAULT_GAUGE_WINDOW_MS, type ChangeDetectionPolicy } from './settings.js';

export interface ChangeGaugesOptions {
  service: ChangeDetectionService;
  models: ModelRegistry;
  /** The model's `change_detection` section, or undefined when it has none (no gauges). */
  policy(modelId: string): Promise<ChangeDetectionPolicy | undefined>;
  registry: Registry;
  logger: Logger;
  /** @default 60000 */
  intervalMs?: number;
  /** Epoch ms. @default Date.now */
  now?: () => number;
}

type Labels = { model: string; version: string };

/**
 * Where the gauges' detector starts: the start of the previous whole `window` period since the
 * epoch, so the stream covers between one and two windows. Page-Hinkley's detections depend on
 * where its stream starts; a start sliding with the clock made them flap from one refresh to the
 * next (and differ between instances). A fixed start makes each refresh extend the last one's
 * stream; the detections can change only when the start steps forward, once per `window`.
 */
export function gaugeStreamStart(now: number, windowMs: number): number {
  return Math.floor((now - windowMs) / windowMs) * windowMs;
}

export class ChangeGauges {
  private readonly changes: Gauge<'model' | 'version'>;
  private readonly last: Gauge<'model' | 'version'>;
  private readonly level: Gauge<'model' | 'version'>;
  private readonly loop: SerialLoop<void>;

  constructor(private readonly options: ChangeGaugesOptions) {
    const common = { labelNames: ['model', 'version'] as const, registers: [options.registry] };
    this.changes = new Gauge({
      name: 'modelwatch_loss_changes',
      help: 'Page-Hinkley detections in the per-prediction loss since the start of the previous whole change_detection window period (one to two windows back)',
      ...common,
    });
    this.last = new Gauge({
      name: 'modelwatch_loss_last_change_timestamp_seconds',
      help: 'Event time of the latest detection counted in modelwatch_loss_changes (absent when none)',
      ...common,
    });
    this.level = new Gauge({
      name: 'modelwatch_loss_mean_since_change',
      help: 'Mean per-prediction loss since the latest detection (over the whole window when none)',
      ...common,
    });
    this.loop = new SerialLoop(() => this.refresh(), {
      intervalMs: options.intervalMs ?? 60_000,
      onError: (err) =>
        options.logger.warn({ err: errorMessage(err) }, 'change-detection gauges could not refresh'),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Recomputes every gauge now. */
  runOnce(): Promise<void> {
    return this.loop.runOnce();
  }

  private async refresh(): Promise<void> {
    const to = (this.options.now ?? Date.now)();
    const values: { labels: Labels; changes: number; last?: number; level?: number }[] = [];
    const policies = new Map<string, ChangeDetectionPolicy | undefined>();
    for (const v of await this.options.models.list()) {
      const labels = { model: v.model_id, version: v.model_version };
      // One model's failure must not freeze the others: its series go, the others refresh.
      try {
        if (!policies.has(v.model_id)) policies.set(v.model_id, await this.options.policy(v.model_id));
        const policy = policies.get(v.model_id);
        if (policy === undefined) continue;
        const window = policy.window === undefined ? DEFAULT_GAUGE_WINDOW_MS : parseDuration(policy.window)!;
        const from = gaugeStreamStart(to, window);
        let report;
        try {
          report = await this.options.service.report({
            modelId: v.model_id,
            version: v.model_version,
            from,
            to,
          });
        } catch (err) {
          if (!(err instanceof ChangeDetectionError) || err.code !== 'TOO_MANY_VALUES') throw err;
          this.options.logger.warn(
            { ...labels, from: new Date(from).toISOString(), to: new Date(to).toISOString() },
            'change-detection gauges skip this version: too many labeled predictions in its window (shorten change_detection.window)',
          );
          continue;
        }
        const latest = report.detections[report.detections.length - 1];
        const level = latest ? latest.mean_after : report.mean_loss;
        values.push({
          labels,
          changes: report.detections.length,
          ...(latest ? { last: Date.parse(latest.timestamp) / 1000 } : {}),
          ...(level !== null ? { level } : {}),
        });
      } catch (err) {
        this.options.logger.warn(
          { ...labels, err: errorMessage(err) },
          'change-detection gauges could not refresh this model version; its series are left out',
        );
      }
    }
    // Reset only once every query is done, so a scrape never sees a half-filled set.
    for (const g of [this.changes, this.last, this.level]) g.reset();
    for (const v of values) {
      this.changes.set(v.labels, v.changes);
      if (v.last !== undefined) this.last.set(v.labels, v.last);
      if (v.level !== undefined) this.level.set(v.labels, v.level);
    }
  }
}
