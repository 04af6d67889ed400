/**
 * Publishes the outbox to the retrain topic, one message per trigger_id. Each instance joins a
 * consumer group on the retrain topic itself; the member assigned partition p is the only one
 * that publishes to p. On assignment it first fences p (a transactional producer with p's id, so
 * a zombie earlier owner can no longer commit), then reads p (read_committed) to the end it had,
 * so it knows every trigger_id already there, then sends the pending triggers whose key maps to p
 * (explicit partition, one transaction each) that it has not seen. A send that fails, or whose
 * outcome is unknown, is not repeated blind: the partition is read to its end again first, and
 * again after any later claim of it (a claim completes a commit left in doubt). Fenced out while
 * its group still assigns it the partition, it claims the partition back.
 * A trigger the broker refuses as too large is recorded as refused and not sent again, so it
 * cannot hold up the later triggers of its partition.
 * Auditing is at least once: a delivered trigger whose audit was not recorded (the audit send
 * failed, or the process stopped first) is audited again by its partition's owner.
 * See README.md for the measurements and the residual risk.
 */
import type { Consumer, EachBatchPayload, Kafka, Message } from 'kafkajs';
import { errorMessage } from '../../platform/errors.js';
import { messageBytes } from '../../platform/kafka/index.js';
import type { Logger } from '../../platform/observability/index.js';
import type { TriggerPayload } from '../engine/trigger.js';
import { TriggerError } from '../errors.js';
import type { Delivery, TriggerStore } from '../store/triggers.js';
import { FencedOut } from './fenced-out.js';
import { FencedProducers, isFenced } from './fenced-producers.js';
import { partitionOf } from './partition.js';
import { PartitionProgress, TRIGGER_ID_HEADER } from './partition-progress.js';
import { PublisherTrail } from './trail.js';
import { TriggerAudits } from './trigger-audits.js';
import { Waits, backoff } from './waits.js';

export { TRIGGER_ID_HEADER };

export interface PublisherOptions {
  kafka: Kafka;
  store: TriggerStore;
  topic: string;
  groupId: string;
  logger: Logger;
  /**
   * Once a message is on the topic (and only then): audit it. At least once per
   * trigger: called again on a later pass when it rejected, or the process stopped before the
   * trigger was recorded as audited (so the audit record must not depend on when it is called).
   */
  onPublished: (payload: TriggerPayload) => Promise<void> | void;
  /** Once the trigger is recorded as audited: at most once per trigger and process (a counter). */
  onAudited?: (payload: TriggerPayload) => void;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** Pause between passes over the outbox. @default 5000 */
  intervalMs?: number;
  /** Test-only: wait before each send. @default 0 */
  publishDelayMs?: number;
}

export class TriggerPublisher {
  private consumer: Consumer | undefined;
  private progress: PartitionProgress | undefined;
  private producers: FencedProducers | undefined;
  private partitions = 0;
  private owned = new Set<number>();
  private generation = 0;
  private readonly fencedOut = new FencedOut();
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Set while the consumer is rebuilt after kafkajs gave up on it (it never restarts those itself). */
  private rebuilding = false;
  private failures = 0;
  /** Consumers rebuilt after a crash kafkajs did not restart (for tests and logs). */
  restarts = 0;
  /** What the publisher saw, for `diagnostics()`. */
  private readonly trail = new PublisherTrail();
  private readonly waits = new Waits();
  private readonly audits: TriggerAudits;

  constructor(private readonly options: PublisherOptions) {
    const { store, onPublished: audit, onAudited, logger } = options;
    this.audits = new TriggerAudits({ store, audit, onAudited, logger, trail: this.trail });
  }

  /** True once the publisher is in its group, and false while its consumer is being rebuilt. */
  get running(): boolean {
    return this.consumer !== undefined && !this.stopped && !this.rebuilding;
  }

  /** Its state and recent events, for a test or an operator asking why nothing was published. */
  diagnostics(): Record<string, unknown> {
    return {
      running: this.running,
      rebuilding: this.rebuilding,
      restarts: this.restarts,
      generation: this.generation,
      owned: this.assignment,
      fencedOut: this.fencedOut.list(),
      partitions: this.partitions,
      failures: this.failures,
      read: this.progress?.describe(),
      ...this.trail.snapshot(),
    };
  }

  /** The retrain topic's partitions this instance publishes to now. */
  get assignment(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, topic, groupId } = this.options;
    this.progress = new PartitionProgress(kafka, topic);
    this.partitions = await this.progress.connect();
    this.producers = new FencedProducers(kafka, groupId, this.options.logger);
    try {
      await this.join();
    } catch (err) {
      // A consumer that crashed while joining is being rebuilt already; anything else fails the start.
      if (!this.rebuilding) throw err;
    }
    this.schedule(0);
  }

  /**
   * Makes a consumer in the publisher group the current one and runs it; rejects if it crashed
   * for good while joining (kafkajs' `run` resolves even then).
   */
  private async join(): Promise<void> {
    const { kafka, topic, groupId } = this.options;
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      // A stop waits for the fetch in flight: this bounds it (an idle fetch costs the broker little).
      maxWaitTimeInMs: 200,
    });
    this.consumer = consumer;
    let crashed: Error | undefined;
    // A replaced consumer's late event must not take the current one's assignment away.
    const current = (event: string) => {
      if (consumer === this.consumer) return true;
      this.trail.add('event of a replaced consumer ignored', { event });
      return false;
    };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (current('group join')) this.assigned(payload.memberAssignment[topic] ?? []);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (!current('rebalancing')) return;
      this.trail.add('rebalancing');
      this.revoked();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.trail.add('consumer crashed', { restart: payload.restart, err: errorMessage(payload.error) });
      if (consumer !== this.consumer) return;
      this.revoked();
      // kafkajs restarts itself after a retriable error; after any other the consumer stays
      // stopped (seen after a leader kill: KafkaJSNonRetriableError), so it is rebuilt here.
      if (payload.restart) return;
      crashed = payload.error;
      void this.rebuild(consumer, payload.error);
    });
    consumer.on(consumer.events.STOP, () => {
      if (current('stop')) this.revoked();
    });
    // A heartbeat that succeeded confirms the assignment: partitions fenced out of are claimed back.
    consumer.on(consumer.events.HEARTBEAT, () => {
      if (consumer !== this.consumer) return;
      const generation = this.generation;
      for (const p of this.fencedOut.heartbeat(generation)) this.claimBack(p, generation);
    });
    // Also for fetches holding only transaction markers, which reach no eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic && consumer === this.consumer)
        this.advance(payload.partition, BigInt(payload.lastOffset) + 1n);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // No commits: every assignment reads its partition from the start (see README.md).
    await consumer.run({ autoCommit: false, eachBatch: (payload) => Promise.resolve(this.read(payload)) });
    if (crashed) throw crashed;
  }

  /**
   * Replaces a consumer kafkajs will not restart, with backoff, until one runs or the publisher
   * stops. Readiness reports the publisher not running meanwhile.
   */
  private async rebuild(crashed: Consumer, error: Error): Promise<void> {
    if (crashed !== this.consumer || this.rebuilding || this.stopped) return;
    this.rebuilding = true;
    this.options.logger.error(
      { err: errorMessage(error), groupId: this.options.groupId },
      'retrain publisher consumer stopped after a non-retriable error; rebuilding it',
    );
    await crashed.disconnect().catch(() => undefined);
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.join();
        this.restarts += 1;
        this.trail.add('consumer rebuilt', { attempt });
        this.options.logger.warn({ attempt }, 'retrain publisher consumer rebuilt');
        break;
      } catch (err) {
        this.trail.add('consumer not rebuilt', { attempt, err: errorMessage(err) });
        this.options.logger.warn(
          { err: errorMessage(err), attempt },
          'retrain publisher consumer could not be rebuilt yet; retrying',
        );
        await this.consumer?.disconnect().catch(() => undefined);
        await this.waits.sleep(backoff(attempt));
      }
    }
    // Stopped mid-rebuild: stop() may have disconnected the previous consumer, not this one.
    if (this.stopped) await this.consumer?.disconnect().catch(() => undefined);
    this.rebuilding = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.waits.wakeAll();
    this.revoked();
    await this.chain.catch(() => undefined);
    await this.consumer?.disconnect();
    await this.producers?.releaseAll();
    await this.progress?.disconnect();
  }

  /** Publishes what is pending now (also runs every `intervalMs`). */
  kick(): Promise<void> {
    const run = this.chain.catch(() => undefined).then(() => this.publishPending());
    this.chain = run;
    return run;
  }

  /**
   * `kick` where nobody awaits it: a failed pass (ClickHouse down, say) is logged and left to the
   * schedule's next one. Left unhandled, the rejection would end the process.
   */
  private kickLogged(): Promise<void> {
    return this.kick().catch((err: unknown) =>
      this.options.logger.warn({ err: errorMessage(err) }, 'retrain trigger publishing failed; retrying'),
    );
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.kickLogged().finally(() => this.schedule(this.options.intervalMs ?? 5_000));
    }, delay);
    this.timer.unref();
  }

  private assigned(partitions: number[]): void {
    this.generation += 1;
    const generation = this.generation;
    this.owned = new Set(partitions);
    this.fencedOut.clear();
    for (const p of partitions) this.progress?.forgetEnd(p);
    this.options.logger.debug({ partitions, generation }, 'retrain publisher assigned');
    this.trail.add('assigned', { partitions, generation });
    // Claims run in the publishing chain, so no send uses a producer being replaced.
    this.chain = this.chain
      .catch(() => undefined)
      .then(async () => {
        await this.producers?.releaseAll(this.owned);
        for (const p of partitions) await this.claim(p, generation);
      });
  }

  /** Fences partition p (transactional id), then reads it to the end it has now. */
  private async claim(p: number, generation: number): Promise<void> {
    for (let attempt = 1; generation === this.generation && !this.stopped; attempt++) {
      try {
        await this.producers!.claim(p);
        this.trail.add('claimed', { partition: p, generation });
        this.refreshTarget(p);
        return;
      } catch (err) {
        this.trail.add('claim failed', { partition: p, attempt, err: errorMessage(err) });
        this.options.logger.warn(
          { err: errorMessage(err), partition: p, attempt },
          'retrain publisher could not claim its partition; retrying',
        );
        await this.waits.sleep(backoff(attempt));
      }
    }
  }

  private revoked(): void {
    this.generation += 1;
    this.owned = new Set();
    this.fencedOut.clear();
  }

  /** Claims p again after a fence the group's assignment says nobody else caused (see FencedOut). */
  private claimBack(p: number, generation: number): void {
    this.trail.add('claiming back', { partition: p, generation });
    this.options.logger.warn({ partition: p, generation }, 'retrain publisher claims back its partition');
    this.chain = this.chain
      .catch(() => undefined)
      .then(async () => {
        if (generation !== this.generation || this.stopped) return;
        this.owned.add(p);
        this.progress?.forgetEnd(p);
        await this.claim(p, generation);
      });
  }

  /** Reads the partition's current end; publishing to it waits until it is read that far. */
  private refreshTarget(p: number): void {
    const progress = this.progress!;
    const read = progress.forgetEnd(p);
    const generation = this.generation;
    void (async () => {
      try {
        const end = await progress.readEnd(p);
        if (generation !== this.generation || !progress.setEnd(p, end, read)) return;
        this.trail.add('partition end read', { partition: p, end: String(end) });
        if (progress.caughtUp(p)) void this.kickLogged();
      } catch (err) {
        this.trail.add('partition end not read', { partition: p, err: errorMessage(err) });
        this.options.logger.warn(
          { err: errorMessage(err), partition: p },
          'retrain publisher could not read the end of its partition; retrying',
        );
        setTimeout(() => {
          if (generation === this.generation && progress.latestRead(p, read)) this.refreshTarget(p);
        }, 1_000).unref();
      }
    })();
  }

  private read({ batch }: EachBatchPayload): void {
    if (this.progress!.read(batch.partition, batch.messages)) this.movedOn(batch.partition);
  }

  private advance(p: number, next: bigint): void {
    if (this.progress!.advance(p, next)) this.movedOn(p);
  }

  private movedOn(p: number): void {
    if (this.progress!.caughtUp(p) && this.owned.has(p)) void this.kickLogged();
  }

  private async publishPending(): Promise<void> {
    const pass = {
      owned: this.assignment,
      pending: -1,
      sent: 0,
      alreadyThere: 0,
      skipped: {} as Record<string, string>,
    };
    if (this.owned.size === 0 || this.partitions === 0) return this.trail.pass(pass);
    const pending = await this.options.store.pending();
    pass.pending = pending.length;
    const alreadyThere: Delivery[] = [];
    for (const payload of pending) {
      const p = partitionOf(this.options.topic, payload.model_id, this.partitions);
      const skipped = this.skipReason(p);
      if (skipped) {
        pass.skipped[payload.trigger_id] = skipped;
        continue;
      }
      const offset = this.progress!.offsetOf(p, payload.trigger_id);
      if (offset !== undefined) {
        alreadyThere.push({
          triggerId: payload.trigger_id,
          modelId: payload.model_id,
          partition: p,
          offset,
          publishedAt: Date.now(),
        });
        continue;
      }
      const failed = await this.publishOne(payload, p);
      if (failed) pass.skipped[payload.trigger_id] = failed;
      else pass.sent += 1;
    }
    pass.alreadyThere = alreadyThere.length;
    this.trail.pass(pass);
    await this.options.store.recordDeliveries(alreadyThere);
    await this.audits.auditMissed((t) =>
      this.owned.has(partitionOf(this.options.topic, t.model_id, this.partitions)),
    );
  }

  /** Why partition p cannot be published to now, or undefined if it can. */
  private skipReason(p: number): string | undefined {
    return this.owned.has(p) ? this.progress!.behind(p) : `partition ${p} not owned`;
  }

  /** Sends one trigger; resolves with why it was not sent, or undefined once it is on the topic. */
  private async publishOne(payload: TriggerPayload, p: number): Promise<string | undefined> {
    const generation = this.generation;
    if (this.options.publishDelayMs) await this.waits.sleep(this.options.publishDelayMs);
    // Ownership may have moved while we waited: only the current owner, caught up, sends.
    if (generation !== this.generation) return 'the assignment changed before the send';
    const skipped = this.skipReason(p);
    if (skipped) return skipped;
    const message: Message = {
      key: payload.model_id,
      value: JSON.stringify(payload),
      headers: { [TRIGGER_ID_HEADER]: payload.trigger_id },
    };
    let offset: string;
    try {
      offset = await this.producers!.send(this.options.topic, p, message);
      this.failures = 0;
    } catch (err) {
      if (err instanceof TriggerError && err.code === 'RECLAIMED') {
        // Nothing was sent: the claim may have completed the commit the last failure left in doubt.
        this.refreshTarget(p);
        this.trail.add('claimed again; re-reading', { partition: p });
        return `partition ${p} claimed again; reading it to its end`;
      }
      if (err instanceof TriggerError && err.code === 'TOO_LARGE')
        return this.refuse(payload, p, messageBytes(message), err);
      this.failures += 1;
      if (isFenced(err) || (err instanceof TriggerError && !err.retryable)) {
        // Another instance holds the partition now, and publishes what is pending; unless the
        // group still assigns it here (the coordinator fenced us itself): then it is claimed back.
        this.owned.delete(p);
        if (generation === this.generation) this.fencedOut.add(p, generation);
        this.trail.add('fenced out', { partition: p, err: errorMessage(err) });
        this.options.logger.warn(
          { err: errorMessage(err), partition: p },
          'retrain publisher was fenced out of its partition',
        );
        return `fenced out of partition ${p}: ${errorMessage(err)}`;
      }
      // The outcome is unknown (the commit may have landed): read the partition to its end again first.
      this.refreshTarget(p);
      this.options.logger.warn(
        { err: errorMessage(err), trigger: payload.trigger_id, partition: p, failures: this.failures },
        'retrain trigger publish failed; will retry after re-reading the partition',
      );
      this.trail.add('send failed', { partition: p, failures: this.failures, err: errorMessage(err) });
      await this.waits.sleep(backoff(this.failures));
      return `send failed: ${errorMessage(err)}`;
    }
    return this.delivered(payload, p, offset);
  }

  /** After the broker acknowledged the send: audited, then recorded as delivered. */
  private async delivered(payload: TriggerPayload, p: number, offset: string): Promise<undefined> {
    this.progress!.markSeen(p, payload.trigger_id, offset);
    this.trail.add('published', { partition: p, offset, trigger: payload.trigger_id });
    // Audited before the delivery row: a crash in between leaves it found on the topic and
    // already audited, not audited twice. A failed audit is retried by auditMissed.
    await this.audits.audit(payload);
    await this.options.store.recordDeliveries([
      {
        triggerId: payload.trigger_id,
        modelId: payload.model_id,
        partition: p,
        offset,
        publishedAt: Date.now(),
      },
    ]);
    return undefined;
  }

  /**
   * The broker refused the message as larger than the topic takes (kafkajs' MESSAGE_TOO_LARGE,
   * not retried): sent again it would fail again, and hold up every later trigger of
   * its partition. Recorded, so no pass sends it again, and logged as an error for an operator
   * (README.md, "Failures"). The failed send replaced the partition's producer (a claim), so the
   * partition is read to its end before the next send, as after every claim.
   */
  private async refuse(payload: TriggerPayload, p: number, bytes: number, err: unknown): Promise<string> {
    this.refreshTarget(p);
    this.trail.add('refused as too large', { partition: p, trigger: payload.trigger_id, bytes });
    this.options.logger.error(
      { err: errorMessage(err), trigger: payload.trigger_id, model: payload.model_id, partition: p, bytes },
      'retrain trigger refused by the broker as too large; recorded as refused and not sent again',
    );
    await this.options.store.recordRefusals([
      {
        triggerId: payload.trigger_id,
        modelId: payload.model_id,
        partition: p,
        bytes,
        error: errorMessage(err),
        refusedAt: Date.now(),
      },
    ]);
    return `refused by the broker as too large (${bytes} bytes); recorded, not sent again`;
  }
}
