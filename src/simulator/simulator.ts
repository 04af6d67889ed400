/**
 * Plays the California model's life through the real broker and the service's API: the
 * reference period, the reference set from it, the analysis period with its drift, labels arriving
 * late, access logs, a challenger in shadow. Time runs `speed` times faster than the wall clock.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bundledModelFile,
  isInferenceError,
  type InferenceCore,
  type OnnxModel,
} from '../inference/index.js';
import type { Logger, StatusLine } from '../platform/observability/index.js';
import type { ApiClient } from './api-client.js';
import { SimulatorError } from './errors.js';
import { ingested, listTriggers, modelSample, driftedColumns } from './observe.js';
import type { PlannedPrediction, StoryPlan } from './plan.js';
import {
  accessMessages,
  labelMessages,
  predictionMessages,
  type EventSink,
  type OutMessage,
  type Topics,
} from './publish.js';
import { CHALLENGER, PRODUCTION, registerModel, setReference } from './setup.js';
import { formatSummary, gatherSummary } from './summary.js';
import { observedInSummary, progressText, type Counts, type Observed } from './progress.js';

export interface SimulatorDeps {
  api: ApiClient;
  sink: EventSink;
  core: InferenceCore;
  topics: Topics;
  logger: Logger;
  status: StatusLine;
  /** Where the summary goes. @default process.stdout */
  out?: { write(text: string): unknown };
  /**
   * Makes a registration visible to shadow scoring now (`up` calls the shadow capability's
   * refresh). @default waits 6 s, past the shadow scorer's 5 s registry refresh
   */
  registered?: () => Promise<void>;
}

export interface SimulatorOptions {
  plan: StoryPlan;
  /** Simulated milliseconds per wall-clock millisecond. */
  speed: number;
  /** The admin key shown in the summary's URLs. */
  adminKey: string;
  /** The address shown in the summary's URLs. */
  publicUrl: string;
  /** Wall time between two publishing steps. @default 100 */
  tickMs?: number;
  /** How long to wait for each step of the service (ready, stored, evaluated, published). @default 60000 */
  settleTimeoutMs?: number;
  /** How often a wait asks the service again. @default 250 */
  settlePollMs?: number;
  /** Two reads of the retrain triggers this far apart must agree (the loop runs every few seconds). @default 3000 */
  triggersApartMs?: number;
}

export class Simulator {
  private readonly counts: Counts = { predictions: 0, labels: 0, access: 0 };
  private next = { prediction: 0, label: 0, access: 0 };
  private simNow: number;
  private summaryPrinted = false;
  private readonly abort = new AbortController();
  /** The progress line's redraws: stopped (its final line drawn) before the summary is printed. */
  private watching: { abort: AbortController; done: Promise<void> } | undefined;
  /** The production model is loaded (scored through the core from then on). */
  private loaded = false;
  private observed: Observed = { ingested: 0, drifted: undefined, triggers: 0 };
  /** The challenger is in stage shadow (an earlier run's may have been restaged since). */
  private shadowed = true;

  constructor(
    private readonly deps: SimulatorDeps,
    private readonly options: SimulatorOptions,
  ) {
    this.simNow = options.plan.start;
  }

  /** Runs the whole story; resolves when it is told (summary printed) or stopped. */
  async run(): Promise<void> {
    const { plan } = this.options;
    const { logger } = this.deps;
    await this.waitForService();
    if (this.stopped) return;
    await this.register();
    // A challenger not yet known to the shadow scorer would miss the first predictions.
    await (this.deps.registered ?? (() => sleep(6_000)))();
    await this.productionModel();
    this.loaded = true;
    logger.info(
      { model: 'california', production: PRODUCTION.version, speed: this.options.speed, seed: plan.seed },
      'simulator: the story begins',
    );
    // Stopped meanwhile: stop() prints the summary, which no progress line may follow.
    if (this.stopped) return;
    this.startWatching();
    try {
      await this.play(plan.referenceEnd);
      if (this.stopped) return;
      // As long as ingest moves on (a loaded machine), the reference waits for it: without it the
      // drift half of the story never happens.
      let stored = 0;
      await this.settle(
        'the reference period stored',
        async () => {
          stored = (await this.ingestedNow()).predictions;
          return stored >= this.counts.predictions;
        },
        () => stored,
      );
      // Stopped while waiting: a reference from part of the period would be stored for good.
      if (this.stopped) return;
      await setReference(this.deps.api, plan.start, plan.referenceEnd);
      logger.info(
        { from: new Date(plan.start).toISOString(), to: new Date(plan.referenceEnd).toISOString() },
        'simulator: drift reference set from the reference period',
      );
      await this.play(plan.end);
      await this.flushLabels();
      if (this.stopped) return;
      await this.settleEnd();
      if (!this.stopped) await this.printSummary(true);
    } finally {
      this.abort.abort();
      // Once a summary is being printed (stop() during the story), it draws the final line itself.
      if (!this.summaryPrinted) await this.endProgress();
    }
  }

  /** Stops publishing; prints the summary of what happened so far unless it was printed. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (!this.summaryPrinted) await this.printSummary(this.publishedAll());
  }

  /** Every event of the plan is out (a later step may have failed or been interrupted). */
  private publishedAll(): boolean {
    const { plan } = this.options;
    return (
      this.next.prediction === plan.predictions.length &&
      this.next.label === plan.labels.length &&
      this.next.access === plan.access.length
    );
  }

  /** Registers the model; a version an earlier run registered and someone restaged since stays so. */
  private async register(): Promise<void> {
    const stages = await registerModel(this.deps.api);
    for (const v of [PRODUCTION, CHALLENGER])
      if (stages[v.version] !== v.stage)
        this.deps.logger.info(
          { version: v.version, stage: stages[v.version] },
          `simulator: version ${v.version} is registered already, in stage ${stages[v.version]} (changed since): kept`,
        );
    this.shadowed = stages[CHALLENGER.version] === 'shadow';
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async waitForService(): Promise<void> {
    await this.settle(
      'the service ready',
      async () => (await this.deps.api.request('GET', '/readyz')).status === 200,
    );
  }

  /** Publishes the events due up to `until` (simulated), paced by the wall clock. */
  private async play(until: number): Promise<void> {
    const started = performance.now();
    const from = this.simNow;
    const tick = this.options.tickMs ?? 100;
    while (!this.stopped && this.simNow < until) {
      this.simNow = Math.min(until, from + (performance.now() - started) * this.options.speed);
      await this.publishUntil(this.simNow);
      await sleep(tick, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }

  /**
   * Through the core each time, not one model held for the run: a model whose worker thread
   * stopped fails every later score with WORKER_FAILED, and the core loads such a model again.
   */
  private productionModel(): Promise<OnnxModel> {
    return this.deps.core.loadFile(`california@${PRODUCTION.version}`, bundledModelFile(PRODUCTION.model));
  }

  /** The predictions' messages, scored again once if the model's worker stopped meanwhile. */
  private async scored(predictions: readonly PlannedPrediction[]): Promise<OutMessage[]> {
    try {
      return await predictionMessages(await this.productionModel(), predictions);
    } catch (err) {
      if (!(isInferenceError(err) && err.retryable)) throw err;
      this.deps.logger.warn({ err: err.message }, "simulator: the model's worker stopped; scoring again");
      return predictionMessages(await this.productionModel(), predictions);
    }
  }

  private async publishUntil(t: number): Promise<void> {
    const { plan } = this.options;
    const { sink, topics } = this.deps;
    const due = <T extends { timestamp: number }>(list: readonly T[], i: number) => {
      let j = i;
      while (j < list.length && list[j]!.timestamp < t) j++;
      return j;
    };
    const p = due(plan.predictions, this.next.prediction);
    const l = due(plan.labels, this.next.label);
    const a = due(plan.access, this.next.access);
    const predictions = plan.predictions.slice(this.next.prediction, p);
    if (predictions.length > 0 && this.loaded)
      await sink.send(topics.predictions, await this.scored(predictions));
    if (l > this.next.label)
      await sink.send(topics.labels, labelMessages(plan.labels.slice(this.next.label, l)));
    if (a > this.next.access)
      await sink.send(topics.accessLog, accessMessages(plan.access.slice(this.next.access, a)));
    this.counts.predictions += p - this.next.prediction;
    this.counts.labels += l - this.next.label;
    this.counts.access += a - this.next.access;
    this.next = { prediction: p, label: l, access: a };
  }

  /** Labels that arrive after the data ends: sent now, as if the weeks after had passed. */
  private async flushLabels(): Promise<void> {
    if (!this.stopped) await this.publishUntil(Number.POSITIVE_INFINITY);
  }

  /** Waits until everything is stored, the last complete window evaluated, shadow scored and triggers published. */
  private async settleEnd(): Promise<void> {
    const { plan } = this.options;
    await this.settleOrWarn('every event stored', async () => {
      const got = await this.ingestedNow();
      return (
        got.predictions >= this.counts.predictions &&
        got.labels >= this.counts.labels &&
        got.access >= this.counts.access
      );
    });
    const lastWindowEnd = Date.UTC(
      new Date(plan.end - 1).getUTCFullYear(),
      new Date(plan.end - 1).getUTCMonth(),
      1,
    );
    await this.settleOrWarn(
      'the last complete window evaluated',
      async () =>
        (await modelSample(this.deps.api, 'modelwatch_drift_window_end_seconds')) * 1000 >= lastWindowEnd,
    );
    // A challenger restaged out of shadow scores nothing: no wait for it.
    if (this.shadowed)
      await this.settleOrWarn(
        'every prediction scored in shadow',
        async () =>
          (await modelSample(this.deps.api, 'modelwatch_shadow_scored_total')) +
            (await modelSample(this.deps.api, 'modelwatch_shadow_failures_total')) >=
          this.counts.predictions,
      );
    // The retrain loop runs every few seconds: settled once two reads a loop apart agree and all are published.
    let previous = -1;
    await this.settleOrWarn('the retrain triggers published', async () => {
      const list = await listTriggers(this.deps.api);
      const stable = list.length === previous && list.every((t) => t.published);
      previous = list.length;
      if (!stable) await sleep(this.options.triggersApartMs ?? 3_000);
      return stable;
    });
  }

  /** At the end, a step that does not settle is reported and the summary shows what there is. */
  private async settleOrWarn(what: string, done: () => Promise<boolean>): Promise<void> {
    try {
      await this.settle(what, done);
    } catch (err) {
      if (!(err instanceof SimulatorError && err.code === 'TIMED_OUT')) throw err;
      this.deps.logger.warn(err.message);
    }
  }

  private async ingestedNow() {
    return ingested(this.deps.api, this.deps.topics);
  }

  /**
   * Waits until `done`, at most the settle timeout; with `progress`, the timeout counts from the
   * last time its value changed. Returns early (no error) when stopped.
   */
  private async settle(what: string, done: () => Promise<boolean>, progress?: () => number): Promise<void> {
    const timeout = this.options.settleTimeoutMs ?? 60_000;
    let deadline = performance.now() + timeout;
    let last = progress?.();
    while (!this.stopped) {
      if (await done().catch(() => false)) return;
      const now = progress?.();
      if (now !== last) {
        last = now;
        deadline = performance.now() + timeout;
      }
      if (performance.now() > deadline)
        throw new SimulatorError('TIMED_OUT', `simulator: timed out waiting for ${what}`);
      await sleep(this.options.settlePollMs ?? 250);
    }
  }

  private startWatching(): void {
    const abort = new AbortController();
    this.watching = { abort, done: this.watch(abort.signal) };
  }

  /**
   * Stops the redraws, then draws the final line with the figures `final` makes of the last known
   * ones (a redraw's read in flight could otherwise overwrite them) and moves below it. Once only.
   */
  private async endProgress(final: (last: Observed) => Observed = (last) => last): Promise<void> {
    const watching = this.watching;
    if (!watching) return;
    this.watching = undefined;
    watching.abort.abort();
    await watching.done;
    this.observed = final(this.observed);
    this.deps.status.update(progressText(this.simNow, this.counts, this.observed), true);
    this.deps.status.done();
  }

  /**
   * Redraws the progress line, reading the service's side every ~2 s, until `signal` (off a
   * terminal the line is printed at most every few seconds).
   */
  private async watch(signal: AbortSignal): Promise<void> {
    const { plan } = this.options;
    let lastRead = 0;
    while (!signal.aborted) {
      if (performance.now() - lastRead > 2_000) {
        lastRead = performance.now();
        await this.readService(plan);
      }
      this.deps.status.update(progressText(this.simNow, this.counts, this.observed));
      await sleep(250, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Each figure independently: one the service did not answer keeps its last known value. */
  private async readService(plan: StoryPlan): Promise<void> {
    // Complete months only: the month in progress holds a few rows, whose noise is not drift.
    const monthStart = Date.UTC(
      new Date(this.simNow).getUTCFullYear(),
      new Date(this.simNow).getUTCMonth(),
      1,
    );
    await Promise.allSettled([
      this.ingestedNow().then((got) => (this.observed.ingested = got.predictions + got.labels + got.access)),
      listTriggers(this.deps.api).then((list) => (this.observed.triggers = list.length)),
      monthStart > plan.referenceEnd &&
        driftedColumns(this.deps.api, plan.referenceEnd, monthStart).then(
          (drifted) => (this.observed.drifted = drifted.map((d) => d.column)),
        ),
    ]);
  }

  private async printSummary(finished: boolean): Promise<void> {
    this.summaryPrinted = true;
    const { plan, adminKey, publicUrl } = this.options;
    const summary = await gatherSummary(this.deps.api, this.deps.topics, plan, this.simNow, finished);
    // The summary is the last thing printed: the progress line's final state, with its figures, before it.
    await this.endProgress((last) => observedInSummary(summary, last));
    (this.deps.out ?? process.stdout).write(formatSummary(summary, plan, publicUrl, adminKey));
  }
}
