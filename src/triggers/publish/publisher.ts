/**
 * Publishes the outbox to the retrain topic, one message per trigger_id. Each instance joins a
 * consumer group on the retrain topic itself; the member assigned partition p is the only one
 * that publishes to p. On assignment it first fences p (a transactional producer with p's id, so
 * a zombie earlier owner can no longer commit), then reads p (read_committed) to the end it had,
 * so it knows every trigger_id already there, then sends the pending triggers whose key maps to p
 * (explicit partition, one transaction each) that it has not seen. A send that fails, or whose
 * outcome is unknown, is not repeated blind: the partition is read to its end again first.
 * See README.md for the measurements and the residual risk.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { errorMessage } from '../../platform/errors.js';
import type { Logger } from '../../platform/observability/index.js';
import type { TriggerPayload } from '../engine/trigger.js';
import { TriggerError } from '../errors.js';
import type { Delivery, TriggerStore } from '../store/triggers.js';
import { FencedProducers, isFenced } from './fenced-producers.js';
import { partitionOf } from './partition.js';

/** Header carrying the trigger id, so reading the topic needs no JSON parsing. */
export const TRIGGER_ID_HEADER = 'modelwatch-trigger-id';

export interface PublisherOptions {
  kafka: Kafka;
  store: TriggerStore;
  topic: string;
  groupId: string;
  logger: Logger;
  /** After each message is on the topic (and only then): count it, audit it. */
  onPublished: (payload: TriggerPayload) => Promise<void> | void;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** Pause between passes over the outbox. @default 5000 */
  intervalMs?: number;
  /** Test-only: wait before each send. @default 0 */
  publishDelayMs?: number;
}

interface PartitionState {
  /** Next offset to read (everything before it has been read into `seen`). */
  position: bigint;
  /** Read up to here before publishing; undefined while being fetched. */
  target: bigint | undefined;
  seen: Map<string, string>;
}

export class TriggerPublisher {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private producers: FencedProducers | undefined;
  private partitions = 0;
  private readonly state = new Map<number, PartitionState>();
  private owned = new Set<number>();
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Set while the consumer is rebuilt after kafkajs gave up on it (it never restarts those itself). */
  private rebuilding = false;
  private failures = 0;
  /** Consumers rebuilt after a crash kafkajs did not restart (for tests and logs). */
  restarts = 0;
  /** Pending waits (test delay, backoff), cut short by stop(). */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly options: PublisherOptions) {}

  /** True once the publisher is in its group, and false while its consumer is being rebuilt. */
  get running(): boolean {
    return this.consumer !== undefined && !this.stopped && !this.rebuilding;
  }

  /** The retrain topic's partitions this instance publishes to now. */
  get assignment(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, topic, groupId } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    this.producers = new FencedProducers(kafka, groupId, this.options.logger);
    const [metadata] = (await this.admin.fetchTopicMetadata({ topics: [topic] })).topics;
    this.partitions = metadata?.partitions.length ?? 0;
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
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    let crashed: Error | undefined;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      this.assigned(payload.memberAssignment[topic] ?? []),
    );
    consumer.on(consumer.events.REBALANCING, () => this.revoked());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.revoked();
      // kafkajs restarts itself after a retriable error; after any other the consumer stays
      // stopped (seen after a leader kill: KafkaJSNonRetriableError), so it is rebuilt here.
      if (payload.restart) return;
      crashed = payload.error;
      void this.rebuild(consumer, payload.error);
    });
    consumer.on(consumer.events.STOP, () => this.revoked());
    // Also for fetches holding only transaction markers, which reach no eachBatch.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic === topic) this.advance(payload.partition, BigInt(payload.lastOffset) + 1n);
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
        this.options.logger.warn({ attempt }, 'retrain publisher consumer rebuilt');
        break;
      } catch (err) {
        this.options.logger.warn(
          { err: errorMessage(err), attempt },
          'retrain publisher consumer could not be rebuilt yet; retrying',
        );
        await this.consumer?.disconnect().catch(() => undefined);
        await this.sleep(backoff(attempt));
      }
    }
    // Stopped mid-rebuild: stop() may have disconnected the previous consumer, not this one.
    if (this.stopped) await this.consumer?.disconnect().catch(() => undefined);
    this.rebuilding = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const wake of [...this.sleepers]) wake();
    this.revoked();
    await this.chain.catch(() => undefined);
    await this.consumer?.disconnect();
    await this.producers?.releaseAll();
    await this.admin?.disconnect();
  }

  /** Publishes what is pending now (also runs every `intervalMs`). */
  kick(): Promise<void> {
    const run = this.chain.catch(() => undefined).then(() => this.publishPending());
    this.chain = run;
    return run;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.kick()
        .catch((err: unknown) =>
          this.options.logger.warn({ err: errorMessage(err) }, 'retrain trigger publishing failed; retrying'),
        )
        .finally(() => this.schedule(this.options.intervalMs ?? 5_000));
    }, delay);
    this.timer.unref();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private partitionState(p: number): PartitionState {
    let s = this.state.get(p);
    if (!s) {
      s = { position: 0n, target: undefined, seen: new Map() };
      this.state.set(p, s);
    }
    return s;
  }

  private assigned(partitions: number[]): void {
    this.generation += 1;
    const generation = this.generation;
    this.owned = new Set(partitions);
    for (const p of partitions) this.partitionState(p).target = undefined;
    this.options.logger.debug({ partitions, generation }, 'retrain publisher assigned');
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
        this.refreshTarget(p);
        return;
      } catch (err) {
        this.options.logger.warn(
          { err: errorMessage(err), partition: p, attempt },
          'retrain publisher could not claim its partition; retrying',
        );
        await this.sleep(backoff(attempt));
      }
    }
  }

  private revoked(): void {
    this.generation += 1;
    this.owned = new Set();
  }

  /** Sets the partition's target to its current end; publishing waits until it is read. */
  private refreshTarget(p: number): void {
    const s = this.partitionState(p);
    s.target = undefined;
    const generation = this.generation;
    void (async () => {
      try {
        const offsets = await this.admin!.fetchTopicOffsets(this.options.topic);
        if (generation !== this.generation) return;
        const high = offsets.find((o) => o.partition === p)?.high;
        s.target = BigInt(high ?? '0');
        if (this.caughtUp(p)) void this.kick();
      } catch (err) {
        this.options.logger.warn(
          { err: errorMessage(err), partition: p },
          'retrain publisher could not read the end of its partition; retrying',
        );
        await this.renewAdmin();
        setTimeout(() => {
          if (generation === this.generation) this.refreshTarget(p);
        }, 1_000).unref();
      }
    })();
  }

  /**
   * kafkajs' admin keeps its partition leaders for metadataMaxAge (5 min) and fetchTopicOffsets
   * gives up on NOT_LEADER without refreshing them: after a leader change the end offsets stayed
   * unreadable for minutes (seen on the three-broker cluster). A new admin starts from fresh metadata.
   */
  private async renewAdmin(): Promise<void> {
    const old = this.admin;
    const admin = this.options.kafka.admin();
    try {
      await admin.connect();
    } catch {
      return;
    }
    this.admin = admin;
    await old?.disconnect().catch(() => undefined);
  }

  private caughtUp(p: number): boolean {
    const s = this.state.get(p);
    return s !== undefined && s.target !== undefined && s.position >= s.target;
  }

  private read({ batch }: EachBatchPayload): void {
    const s = this.partitionState(batch.partition);
    for (const m of batch.messages) {
      const id = m.headers?.[TRIGGER_ID_HEADER]?.toString() ?? idFromValue(m.value);
      if (id !== undefined) s.seen.set(id, m.offset);
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) this.advance(batch.partition, BigInt(last.offset) + 1n);
  }

  private advance(p: number, next: bigint): void {
    const s = this.partitionState(p);
    if (next <= s.position) return;
    s.position = next;
    if (this.caughtUp(p) && this.owned.has(p)) void this.kick();
  }

  private async publishPending(): Promise<void> {
    if (this.owned.size === 0 || this.partitions === 0) return;
    const pending = await this.options.store.pending();
    const alreadyThere: Delivery[] = [];
    for (const payload of pending) {
      const p = partitionOf(this.options.topic, payload.model_id, this.partitions);
      if (!this.owned.has(p) || !this.caughtUp(p)) continue;
      const offset = this.partitionState(p).seen.get(payload.trigger_id);
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
      await this.publishOne(payload, p);
    }
    await this.options.store.recordDeliveries(alreadyThere);
  }

  private async publishOne(payload: TriggerPayload, p: number): Promise<void> {
    const generation = this.generation;
    if (this.options.publishDelayMs) await this.sleep(this.options.publishDelayMs);
    // Ownership may have moved while we waited: only the current owner, caught up, sends.
    if (generation !== this.generation || !this.owned.has(p) || !this.caughtUp(p)) return;
    let offset: string;
    try {
      offset = await this.producers!.send(this.options.topic, p, {
        key: payload.model_id,
        value: JSON.stringify(payload),
        headers: { [TRIGGER_ID_HEADER]: payload.trigger_id },
      });
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      if (isFenced(err) || (err instanceof TriggerError && !err.retryable)) {
        // Another instance holds the partition now: it publishes what is pending.
        this.owned.delete(p);
        this.options.logger.warn(
          { err: errorMessage(err), partition: p },
          'retrain publisher was fenced out of its partition',
        );
        return;
      }
      // The outcome is unknown (the commit may have landed): read the partition to its end again first.
      this.refreshTarget(p);
      this.options.logger.warn(
        { err: errorMessage(err), trigger: payload.trigger_id, partition: p, failures: this.failures },
        'retrain trigger publish failed; will retry after re-reading the partition',
      );
      await this.sleep(backoff(this.failures));
      return;
    }
    this.partitionState(p).seen.set(payload.trigger_id, offset);
    await this.options.onPublished(payload);
    await this.options.store.recordDeliveries([
      {
        triggerId: payload.trigger_id,
        modelId: payload.model_id,
        partition: p,
        offset,
        publishedAt: Date.now(),
      },
    ]);
  }
}

/** 250 ms doubling up to 10 s. */
function backoff(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
}

function idFromValue(value: Buffer | null): string | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(value.toString('utf8')) as { trigger_id?: unknown };
    return typeof parsed.trigger_id === 'string' ? parsed.trigger_id : undefined;
  } catch {
    return undefined;
  }
}
