/**
 * The retrain-policy loop: per model with a `retrain` policy, the drift rule over its latest
 * stored drift windows and the performance rule over the metrics of its latest judged windows;
 * firings past the cooldown go into the outbox, and the publisher is told. Every decision is a
 * function of stored data and the policy, so instances, restarts and replays find the same
 * firings, under the same trigger ids.
 */
import { SerialLoop } from '../../platform/loop/index.js';
import {
  readDriftWindows,
  readQualityWindows,
  readSegmentWindows,
  watermarkEventTime,
  type DriftService,
} from '../../drift/index.js';
import { bucketStart as windowStart, type Bucket } from '../../platform/time/index.js';
import { ChangeDetectionError } from '../../change-detection/index.js';
import { lossChangeFiring, type LossChangeReport } from '../engine/loss-change-rule.js';
import { segmentFirings } from '../engine/segment-rule.js';
import type { ModelRegistry, ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/observability/index.js';
import { applyCooldown } from '../engine/cooldown.js';
import { driftFirings } from '../engine/drift-rule.js';
import { qualityFirings } from '../engine/quality-rule.js';
import { performanceFirings, type JudgedWindow, type ReferenceValue } from '../engine/performance-rule.js';
import {
  retrainPolicySchema,
  retrainRules,
  type PerformanceRule,
  type RetrainPolicy,
  type RetrainRules,
} from '../engine/policy.js';
import { toPayload, triggerId, type Firing, type TriggerPayload } from '../engine/trigger.js';
import type { TriggerStore } from '../store/triggers.js';
import {
  estimatedWindowMetrics,
  referenceValue,
  windowMetrics,
  type EstimateSource,
} from './performance-source.js';

/** Windows looked back over per pass (beyond the drift rule's K): the drift loop evaluates at most 48 per run. @default 64 */
export const LOOKBACK_WINDOWS = 64;

export interface PolicySource {
  get(modelId: string): Promise<{ sections: Record<string, unknown> } | undefined>;
}

/** Windows a loss-change condition judges per pass: each reruns the detector over its history. @default 8 */
export const LOSS_CHANGE_WINDOWS = 8;

/** The change detector (the change-detection capability's service); without it a loss_change condition never fires. */
export interface LossChangeSource {
  report(request: { modelId: string; version: string; from: number; to: number }): Promise<LossChangeReport>;
}

export interface TriggerEvaluatorOptions {
  db: Database;
  store: TriggerStore;
  models: ModelRegistry;
  policies: PolicySource;
  drift: DriftService;
  /** CBPE estimates, for `performance.estimated: true`; without it such a condition never fires. */
  estimates?: EstimateSource;
  /** Page-Hinkley over the loss, for `loss_change`. @default none */
  changes?: LossChangeSource | undefined;
  logger: Logger;
  /** Called after new triggers were stored. */
  onStored: () => void;
  /** Pause between runs. @default 5000 */
  intervalMs?: number;
  /**
   * Least time between two judgements of a model's loss_change condition (each reruns the detector
   * over its history per window): the change-detection gauges' pace. @default 60000
   */
  lossChangeIntervalMs?: number;
  /**
   * Longest reuse of a reference period's metric (for `max_drop`): labels of its predictions keep
   * arriving after the reference is set, and change it without a new revision. @default 60000
   */
  referenceRefreshMs?: number;
  /**
   * Events stamped more than this after their own ingest time do not move the watermark (the
   * collectors' `MODELWATCH_MAX_FUTURE_SKEW`, as drift's loop). @default 86_400_000 (1 day)
   */
  maxFutureSkewMs?: number;
  /** @default Date.now */
  now?: () => number;
}

export class TriggerEvaluator {
  private readonly references = new Map<
    string,
    ReferenceValue & { revision: number | undefined; computedAt: number }
  >();
  /** When each model's loss_change condition was last judged (wall clock). */
  private readonly lossChecked = new Map<string, number>();
  /** Windows already warned about (too many values), so the log says it once. */
  private readonly lossWarned = new Set<string>();

  private readonly loop: SerialLoop<TriggerPayload[]>;

  constructor(private readonly options: TriggerEvaluatorOptions) {
    this.loop = new SerialLoop(() => this.evaluateAll(), {
      intervalMs: this.options.intervalMs ?? 5_000,
      onError: (err) =>
        this.options.logger.warn(
          { err: errorMessage(err) },
          'retrain policy evaluation failed; retrying next run',
        ),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over every model; runs never overlap. Resolves with the triggers it stored. */
  runOnce(): Promise<TriggerPayload[]> {
    return this.loop.runOnce();
  }

  private get stopped(): boolean {
    return this.loop.stopped;
  }

  private async evaluateAll(): Promise<TriggerPayload[]> {
    const modelIds = [...new Set((await this.options.models.list()).map((v) => v.model_id))];
    const stored: TriggerPayload[] = [];
    for (const modelId of modelIds) {
      if (this.stopped) break;
      try {
        stored.push(...(await this.evaluatePolicy(modelId)));
      } catch (err) {
        // One model's failing query must not keep every model listed after it from being judged.
        this.options.logger.error(
          { err: errorMessage(err), model: modelId },
          'retrain policy evaluation of a model failed; retrying next run, other models go on',
        );
      }
    }
    if (stored.length > 0) {
      this.options.logger.info(
        { triggers: stored.map((t) => `${t.model_id}/${t.reason}/${t.window.start}`) },
        'retrain triggers stored',
      );
      this.options.onStored();
    }
    return stored;
  }

  /** The model's stored `retrain` policy judged, if it has one that still validates. */
  private async evaluatePolicy(modelId: string): Promise<TriggerPayload[]> {
    const section = (await this.options.policies.get(modelId))?.sections['retrain'];
    if (section === undefined) return [];
    const parsed = retrainPolicySchema.safeParse(section);
    if (parsed.success) return this.evaluateModel(modelId, parsed.data);
    // Named, so an operator can correct it (PUT …/policy answers the same field and message).
    const issue = parsed.error.issues[0];
    this.options.logger.warn(
      { model: modelId, issue: issue && `${issue.path.join('/')}: ${issue.message}` },
      'stored retrain policy no longer validates; skipped',
    );
    return [];
  }

  private async evaluateModel(modelId: string, policy: RetrainPolicy): Promise<TriggerPayload[]> {
    const rules = retrainRules(policy);
    const firings = [
      ...(await this.driftCandidates(modelId, rules)),
      ...(await this.performanceCandidates(modelId, rules)),
      ...(await this.qualityCandidates(modelId, rules)),
      ...(await this.segmentCandidates(modelId, rules)),
      ...(await this.lossChangeCandidates(modelId, rules)),
    ];
    if (firings.length === 0) return [];
    const candidates = firings.map((f) => ({ ...f, triggerId: triggerId(f) }));
    const ends = candidates.map((c) => c.end);
    const near = await this.options.store.near(
      modelId,
      Math.min(...ends) - rules.cooldownMs,
      Math.max(...ends) + rules.cooldownMs,
    );
    const known = new Set(near.map((t) => t.triggerId));
    const fresh = applyCooldown(candidates, near, rules.cooldownMs).filter((c) => !known.has(c.triggerId));
    if (fresh.length === 0) return [];
    const now = (this.options.now ?? Date.now)();
    const payloads = fresh.map((f) => toPayload(f, policy, now));
    await this.options.store.insert(payloads);
    return payloads;
  }

  private async driftCandidates(modelId: string, rules: RetrainRules): Promise<Firing[]> {
    if (!rules.drift) return [];
    const windows = await readDriftWindows(this.options.db, {
      modelId,
      limit: rules.drift.consecutiveWindows + LOOKBACK_WINDOWS,
    });
    return driftFirings(modelId, rules.drift, await this.afterReferencePeriod(modelId, windows));
  }

  /**
   * Windows made of the reference's own predictions (inside the period a range reference was taken
   * from) compare the data with itself: they are stored and shown, but never a reason to retrain.
   */
  private async afterReferencePeriod<W extends { version: string; start: string; end: string }>(
    modelId: string,
    windows: readonly W[],
  ): Promise<W[]> {
    const periods = new Map<string, { from: number | null; to: number | null } | undefined>();
    for (const version of new Set(windows.map((w) => w.version)))
      periods.set(version, await this.options.drift.reference({ modelId, version }));
    return windows.filter((w) => {
      const p = periods.get(w.version);
      return !(p?.from != null && p.to != null && Date.parse(w.start) >= p.from && Date.parse(w.end) <= p.to);
    });
  }

  private async qualityCandidates(modelId: string, rules: RetrainRules): Promise<Firing[]> {
    if (!rules.quality) return [];
    const windows = await readQualityWindows(this.options.db, {
      modelId,
      limit: rules.quality.consecutiveWindows + LOOKBACK_WINDOWS,
    });
    // As for drift: a burst of nulls inside the reference's own period is part of the baseline.
    return qualityFirings(modelId, rules.quality, await this.afterReferencePeriod(modelId, windows));
  }

  private async segmentCandidates(modelId: string, rules: RetrainRules): Promise<Firing[]> {
    const out: Firing[] = [];
    for (const rule of rules.segments ?? []) {
      const k = Math.max(rule.drift?.consecutiveWindows ?? 1, rule.quality?.consecutiveWindows ?? 1);
      const windows = await readSegmentWindows(this.options.db, {
        modelId,
        segmentation: rule.segmentation,
        limit: k + LOOKBACK_WINDOWS,
      });
      out.push(...segmentFirings(modelId, rule, await this.afterReferencePeriod(modelId, windows)));
    }
    return out;
  }

  /** The latest LOSS_CHANGE_WINDOWS complete windows (end + label delay ≤ watermark) of each version. */
  private async lossChangeCandidates(modelId: string, rules: RetrainRules): Promise<Firing[]> {
    const rule = rules.lossChange;
    const changes = this.options.changes;
    if (!rule || !changes) return [];
    // Wall clock on purpose (not `now`, which a test may fix): this only paces the work.
    const due = (this.lossChecked.get(modelId) ?? -Infinity) + (this.options.lossChangeIntervalMs ?? 60_000);
    if (Date.now() < due) return [];
    this.lossChecked.set(modelId, Date.now());
    const settings = await this.options.drift.settings(modelId);
    const latest = await this.watermarkEventTime(modelId);
    if (latest === undefined) return [];
    const spec = settings.evaluationWindow;
    let end = windowStart(spec, latest - settings.allowedLatenessMs - rule.labelDelayMs);
    const windows: { start: number; end: number }[] = [];
    for (let k = 0; k < LOSS_CHANGE_WINDOWS; k++) {
      const start = windowStart(spec, end - 1);
      windows.push({ start, end });
      end = start;
    }
    const out: Firing[] = [];
    for (const v of await this.options.models.list(modelId)) {
      for (const w of windows) {
        let report: LossChangeReport;
        try {
          report = await changes.report({
            modelId,
            version: v.model_version,
            from: w.end - rule.historyMs,
            to: w.end,
          });
        } catch (err) {
          // More labeled predictions than one detector run holds (a shorter history is the fix), or
          // more detections than one answer holds (a higher threshold is).
          if (!(err instanceof ChangeDetectionError)) throw err;
          const id = `${modelId}\u0000${v.model_version}\u0000${w.end}`;
          if (this.lossWarned.has(id)) continue;
          if (this.lossWarned.size > 10_000) this.lossWarned.clear();
          this.lossWarned.add(id);
          this.options.logger.warn(
            { model: modelId, version: v.model_version, err: errorMessage(err) },
            `loss_change condition skipped for this window; ${
              err.code === 'TOO_MANY_DETECTIONS'
                ? 'raise the change_detection threshold'
                : 'shorten retrain.loss_change.history'
            }`,
          );
          continue;
        }
        const firing = lossChangeFiring(modelId, v.model_version, rule, w, report);
        if (firing) out.push(firing);
      }
    }
    return out;
  }

  private async performanceCandidates(modelId: string, rules: RetrainRules): Promise<Firing[]> {
    const rule = rules.performance;
    if (!rule) return [];
    const settings = await this.options.drift.settings(modelId);
    const latest = await this.watermarkEventTime(modelId);
    if (latest === undefined) return [];
    const watermark = latest - settings.allowedLatenessMs;
    // Windows whose end plus the label delay is on or before the watermark.
    const until = windowStart(settings.evaluationWindow, watermark - rule.labelDelayMs);
    const versions = await this.options.models.list(modelId);
    const buckets = await this.judgedWindows(modelId, rule, versions, settings.evaluationWindow, until);
    if (buckets.length === 0) return [];
    const reference = new Map<string, ReferenceValue>();
    if (rule.maxDrop !== undefined) {
      for (const v of versions)
        reference.set(v.model_version, await this.referenceValue(modelId, v, rule.metric));
    }
    return performanceFirings({ modelId, rule, watermark, buckets, reference });
  }

  /**
   * The event time the watermark follows: drift's, so one prediction from a client whose clock is
   * ahead (one outlier) does not make windows due before their labels had `label_delay` to arrive.
   */
  private watermarkEventTime(modelId: string): Promise<number | undefined> {
    return watermarkEventTime(this.options.db, modelId, {
      maxFutureSkewMs: this.options.maxFutureSkewMs ?? 86_400_000,
      rank: 2,
    });
  }

  /** The windows a performance rule judges: the metrics route's, or CBPE's estimates. */
  private async judgedWindows(
    modelId: string,
    rule: PerformanceRule,
    versions: ModelVersionRecord[],
    window: Bucket,
    until: number,
  ): Promise<JudgedWindow[]> {
    if (!rule.estimated)
      return windowMetrics(this.options.db, modelId, versions, window, until, LOOKBACK_WINDOWS);
    const estimates = this.options.estimates;
    if (!estimates) return [];
    return estimatedWindowMetrics(estimates, versions, window, until, LOOKBACK_WINDOWS, (version, reason) =>
      this.options.logger.warn({ model: modelId, version, reason }, 'estimated retrain rule skips a version'),
    );
  }

  /**
   * The reference period's metric, reused per version, metric and reference revision for at most
   * `referenceRefreshMs` (late labels of the period change it; instances agree again within that).
   */
  private async referenceValue(
    modelId: string,
    version: Parameters<typeof referenceValue>[2],
    metric: Parameters<typeof referenceValue>[3],
  ): Promise<ReferenceValue> {
    const reference = await this.options.drift.reference({ modelId, version: version.model_version });
    const key = `${modelId}\u0000${version.model_version}\u0000${metric}`;
    const cached = this.references.get(key);
    // Wall clock on purpose (not `now`, which a test may fix): this only paces the work.
    const fresh = (at: number) => Date.now() - at < (this.options.referenceRefreshMs ?? 60_000);
    if (cached && cached.revision === reference?.revision && fresh(cached.computedAt)) return cached;
    const value = await referenceValue(this.options.db, modelId, version, metric, reference);
    this.references.set(key, { ...value, revision: reference?.revision, computedAt: Date.now() });
    return value;
  }
}
