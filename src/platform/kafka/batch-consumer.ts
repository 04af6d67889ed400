import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { errorMessage, isRetryable } from '../errors.js';
import type { Logger } from '../observability/index.js';
import { CommitTracker } from './commit-tracker.js';
import { writeKafkaDebug } from './flight-recorder.js';
import { createLagMonitor } from './lag-monitor.js';

export interface SourceMessage {
  topic: string;
  partition: number;
  offset: string;
  message: KafkaMessage;
  /** The partition's high watermark when the batch was fetched: every offset in it is below. */
  highWatermark?: string;
}

/**
 * Where consumed messages go. `decode` runs as each message arrives (so CPU work is spread
 * out); `write` persists one flushed batch and must resolve only when it is durable, since
 * offsets are committed right after. A `write` that throws a retryable error (see
 * `isRetryable`) is retried with backoff, with the same items, while consumption stays paused;
 * so `write` must remember what it already did (stored rows, acknowledged dead letters) and
 * skip it on the next call. A `write` that throws a non-retryable error refused some of the
 * items: the batch is split in halves until the refused items are alone, and each is replaced
 * by `reject(item, err)` (its dead letter) and written again.
 */
export interface BatchSink<T> {
  decode(source: SourceMessage): T;
  write(items: T[]): Promise<void>;
  reject(item: T, err: unknown): T;
  /** Bytes an item holds while buffered, for `maxBytes`. @default every item counts 0 */
  size?(item: T): number;
}

export interface BatchConsumerOptions<T> {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  sink: BatchSink<T>;
  logger: Logger;
  /** Flush at this many buffered messages. @default 20000 */
  maxRows?: number;
  /**
   * Flush once the buffered items hold this many bytes (`sink.size`): what bounds the memory of
   * a batch whatever the size of its messages (`maxInFlight` batches writing, one filling).
   * @default 8388608 (8 MiB)
   */
  maxBytes?: number;
  /**
   * Batches written at the same time. Their offsets are still committed in order: a batch's
   * commit waits for every earlier batch's, and nothing is committed past a batch that is not
   * written. Above 1 the sink's `write` must allow concurrent calls, and rows of consecutive
   * batches may be stored in either order. @default 1
   */
  maxInFlight?: number;
  /** Flush when the oldest buffered message is this old. @default 1000 */
  maxMs?: number;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** Start from the earliest offset when the group has none. @default true */
  fromBeginning?: boolean;
  /**
   * Rebuild the kafkajs consumer (a new group member, which looks the coordinator up afresh) when
   * written offsets have waited this long without a confirmed commit. A rebuild loses nothing
   * (the new member commits the offsets kept, or reads again from the last commit), the clock
   * holds while writes fail and restarts for a new member, so a false alarm costs one rejoin;
   * a real stall cost 60 s of lag before (issue 13). @default 30000
   */
  commitStallMs?: number;
  /**
   * Rebuild sooner when every commit has been refused with NOT_COORDINATOR this long: kafkajs
   * then sends commits to a former coordinator for good (CommitTracker.commitFailed). @default 10000
   */
  formerCoordinatorMs?: number;
  /** Each assigned partition's lag (end less committed offset), every `lagIntervalMs` (lag-monitor.ts). */
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** A partition given to another member after a rebalance: its lag is no longer this member's. */
  onLagGone?: (topic: string, partition: number) => void;
  /** @default 10000 */
  lagIntervalMs?: number;
  onFlush?: (rows: number, seconds: number) => void;
  onWriteError?: (err: unknown, attempt: number) => void;
}

export interface BatchConsumer {
  /** Resolves once the consumer has joined its group. */
  start(): Promise<void>;
  /**
   * Stops a write being retried (its offsets and every later one stay uncommitted: the next
   * owner of the partitions reads them again; a write that succeeds meanwhile is committed),
   * flushes and commits what is buffered with one attempt, then leaves the group.
   */
  stop(): Promise<void>;
  /** True while a write keeps failing (ClickHouse down) or the kafkajs consumer is rebuilt: for readiness. */
  readonly degraded: boolean;
  /** kafkajs consumers replaced after a crash or a commit stall (for tests and logs). */
  readonly rebuilds: number;
}

interface Buffered<T> {
  items: T[];
  bytes: number;
  /** Highest offset seen per "topic\0partition". */
  highest: Map<string, bigint>;
  since: number;
}

function emptyBuffer<T>(): Buffered<T> {
  return { items: [], bytes: 0, highest: new Map(), since: 0 };
}

/** The messages after offset `highest`. A batch is in offset order: the first new one ends the search. */
function after(messages: KafkaMessage[], highest: bigint | undefined): KafkaMessage[] {
  if (highest === undefined) return messages;
  const first = messages.findIndex((m) => BigInt(m.offset) > highest);
  if (first < 0) return [];
  return first === 0 ? messages : messages.slice(first);
}

export function createBatchConsumer<T>(options: BatchConsumerOptions<T>): BatchConsumer {
  const { kafka, groupId, topics, sink, logger } = options;
  const maxRows = options.maxRows ?? 20_000;
  const maxMs = options.maxMs ?? 1_000;
  const maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
  const maxInFlight = options.maxInFlight ?? 1;
  const newConsumer = (): Consumer =>
    kafka.consumer({
      groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
      // A fetched batch is appended whole before the size is checked: this bounds the overshoot.
      maxBytesPerPartition: Math.min(4 * 1024 * 1024, maxBytes),
      maxWaitTimeInMs: Math.min(maxMs, 500),
    });
  let consumer: Consumer = newConsumer();
  let rebuilding = false;
  let rebuilds = 0;
  let started = false;
  const commitStallMs = options.commitStallMs ?? 30_000;
  const formerCoordinatorMs = options.formerCoordinatorMs ?? 10_000;
  let buffer = emptyBuffer<T>();
  // Each flush takes the buffer it finds, so none is written twice. A flush settles (never
  // rejects) once its batch is committed or given up, and not before the flush before it.
  let lastFlush: Promise<void> = Promise.resolve();
  // The latest `maxInFlight` flushes, oldest first: a write starts once the flush that many
  // places before it settled.
  const flights: Promise<void>[] = [];
  let pendingFlushes = 0;
  let stopping = false;
  // Writes failing now (each retries alone): for readiness and the stall clock.
  let failingWrites = 0;
  let timer: NodeJS.Timeout | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  const lag = createLagMonitor({
    kafka,
    groupId,
    logger,
    onLag: (topic, partition, value) => safely('onLag', () => options.onLag?.(topic, partition, value)),
    onLagGone: (topic, partition) => safely('onLagGone', () => options.onLagGone?.(topic, partition)),
  });
  const shutdown = new AbortController();
  // Set when a batch is given up (shutdown mid-retry): no later batch may commit past it.
  let abandoned = false;

  /** Callbacks report; they never fail a batch. */
  function safely(what: string, callback: () => void): void {
    try {
      callback();
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, `${what} failed; ignored`);
    }
  }

  /** Writes `items[from, to)`; on a refusal, halves the range until the refused items are alone. */
  async function writeOrSplit(items: T[], from: number, to: number): Promise<void> {
    try {
      await sink.write(from === 0 && to === items.length ? items : items.slice(from, to));
      return;
    } catch (err) {
      if (isRetryable(err) || shutdown.signal.aborted) throw err;
      if (to - from === 1) {
        logger.warn({ err: errorMessage(err) }, 'a message was refused by the store; dead-lettering it');
        const letter = sink.reject(items[from] as T, err);
        items[from] = letter;
        await sink.write([letter]);
        return;
      }
    }
    const middle = from + Math.ceil((to - from) / 2);
    await writeOrSplit(items, from, middle);
    await writeOrSplit(items, middle, to);
  }

  async function writeWithRetry(items: T[], retries = Number.POSITIVE_INFINITY): Promise<void> {
    let failed = false;
    try {
      await attempts(items, retries, () => {
        if (!failed) failingWrites += 1;
        failed = true;
      });
    } finally {
      if (failed) failingWrites -= 1;
    }
  }

  async function attempts(items: T[], retries: number, onFailure: () => void): Promise<void> {
    let written = false;
    await pRetry(
      async () => {
        try {
          await writeOrSplit(items, 0, items.length);
          written = true;
        } catch (err) {
          // p-retry gives up at once on a TypeError; a failing write must stall, never drop.
          throw err instanceof TypeError ? new Error(err.message, { cause: err }) : err;
        }
      },
      {
        retries,
        minTimeout: 250,
        maxTimeout: 10_000,
        signal: retries > 0 ? shutdown.signal : undefined,
        onFailedAttempt: ({ error, attemptNumber }) => {
          onFailure();
          safely('onWriteError', () => options.onWriteError?.(error, attemptNumber));
          logger.warn(
            { err: errorMessage(error), attempt: attemptNumber, rows: items.length },
            'batch write failed; retrying',
          );
        },
      },
    ).catch((err: unknown) => {
      // p-retry checks the signal after an attempt succeeds too: a write that ends after stop()
      // aborted is stored all the same, and its offsets must be committed.
      if (!written) throw err;
    });
  }

  const commits = new CommitTracker();
  let commitFailing = false;
  let commitQueued = false;

  async function commit(highest: Map<string, bigint>): Promise<void> {
    commits.add(highest);
    if (commits.size === 0 || rebuilding) return;
    try {
      await consumer.commitOffsets(commits.pending());
      commitFailing = false;
    } catch (err) {
      // Kept and retried on the timer: a broker restart moves the group coordinator and fails
      // commits for partitions that are still ours; dropping them left the group's offsets
      // behind until more traffic came (found by the rolling-restart test). A rebalance that
      // takes a partition drops its offsets (CommitTracker.reassigned).
      commits.commitFailed(err);
      if (!commitFailing) logger.warn({ err: errorMessage(err) }, 'offset commit failed; retrying');
      commitFailing = true;
    }
  }

  /**
   * Takes the buffer now; its write starts once fewer than `maxInFlight` earlier batches are
   * unsettled, and its commit follows every earlier batch's. `final` (on stop) makes one attempt
   * instead of retrying. A batch that is not written is not committed, and neither is any batch
   * after it, even one already written. Resolves when this batch is settled.
   */
  function flush(final = false): Promise<void> {
    const taken = buffer;
    buffer = emptyBuffer<T>();
    if (taken.highest.size === 0) return lastFlush;
    pendingFlushes += 1;
    const slot = flights.length >= maxInFlight ? flights[flights.length - maxInFlight] : undefined;
    // Resolves to the write's seconds.
    const written = (slot ?? Promise.resolve()).then(async () => {
      const started = performance.now();
      if (!abandoned && taken.items.length > 0)
        await writeWithRetry(taken.items, final ? 0 : Number.POSITIVE_INFINITY);
      return (performance.now() - started) / 1000;
    });
    const previous = lastFlush;
    const settled = (async () => {
      try {
        // Awaited at once (no unhandled rejection), then the earlier batches: commits in order.
        const seconds = await written.finally(() => previous);
        if (abandoned) return;
        await commit(taken.highest);
        safely('onFlush', () => options.onFlush?.(taken.items.length, seconds));
      } catch (err) {
        abandoned = true;
        logger.warn(
          { err: errorMessage(err), rows: taken.items.length },
          'batch not written before shutdown; its offsets stay uncommitted',
        );
      } finally {
        pendingFlushes -= 1;
      }
    })();
    flights.push(settled);
    if (flights.length > maxInFlight) void flights.shift();
    lastFlush = settled;
    return settled;
  }

  /** Waits for `done` while keeping the group membership alive. */
  async function waitWithHeartbeat(done: Promise<void>, heartbeat: () => Promise<void>): Promise<void> {
    let settled = false;
    void done.finally(() => {
      settled = true;
    });
    while (!settled) {
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      if (!settled) await heartbeat();
    }
  }

  function append(payload: EachBatchPayload): void {
    const { batch } = payload;
    const key = `${batch.topic}\0${batch.partition}`;
    if (buffer.highest.size === 0) buffer.since = Date.now();
    // kafkajs delivers a batch again when a heartbeat failed while it waited for a write slot. An
    // offset up to the highest buffered is in this buffer or an earlier batch: buffered again, it
    // would be written, lettered and counted twice.
    const fresh = after(batch.messages, buffer.highest.get(key));
    if (fresh.length === 0) return;
    for (const message of fresh) {
      const item = sink.decode({
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        message,
        highWatermark: batch.highWatermark,
      });
      buffer.items.push(item);
      if (sink.size) buffer.bytes += sink.size(item);
    }
    // In offset order, and all of it buffered (`decode` does not throw): the last is the highest,
    // unless the batch goes on past it with records kafkajs does not hand over (a transaction's
    // commit marker, aborted records). Committed past those, as the Java consumer does: else the
    // group stayed one offset behind the end of a transactional producer's partition for good.
    const last = fresh[fresh.length - 1];
    const end = BigInt(batch.lastOffset());
    if (last) buffer.highest.set(key, end > BigInt(last.offset) ? end : BigInt(last.offset));
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    if (payload.isStale() || payload.batch.messages.length === 0) return;
    append(payload);
    if (buffer.items.length < maxRows && buffer.bytes < maxBytes) return;
    // Batches write while the next one fills (ClickHouse writes on its own threads); fetching
    // waits only when `maxInFlight` batches are unsettled when the next one is full. Flushes
    // settle in order, so the oldest kept is the first to wait for. Memory stays bounded at
    // `maxInFlight` + 1 batches.
    while (pendingFlushes >= maxInFlight) {
      const oldest = flights[flights.length - pendingFlushes] ?? lastFlush;
      await waitWithHeartbeat(oldest, () => payload.heartbeat());
    }
    void flush();
  }

  const listening = new WeakSet<Consumer>();
  /** Rejects the join in progress: kafkajs gave up on its member. */
  let crashedWhileJoining: (err: Error) => void = () => undefined;

  /** Subscribes and runs a new kafkajs consumer; resolves once it joined, rejects if kafkajs gave up on it first. */
  async function join(member: Consumer): Promise<void> {
    consumer = member;
    let stopWaiting = () => {};
    const joined = new Promise<void>((resolve, reject) => {
      crashedWhileJoining = reject;
      stopWaiting = member.on(member.events.GROUP_JOIN, () => resolve());
    });
    listenTo(member);
    try {
      await member.connect();
      for (const topic of topics)
        await member.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      await member.run({
        autoCommit: false,
        eachBatchAutoResolve: true,
        partitionsConsumedConcurrently: 1,
        eachBatch,
      });
      await joined;
    } finally {
      // Also when the join failed: `start` is retried with the same member while Kafka is down.
      stopWaiting();
    }
  }

  /**
   * Writes what is buffered while its partitions are still ours, so their offsets can be committed.
   * Not when `maxInFlight` batches are pending (ClickHouse down): each rebalance would add a full
   * batch past the bound. The buffer is then kept: after the rejoin kafkajs delivers again from the
   * last commit, and `append` drops what this buffer holds; the offsets of partitions the rebalance
   * took are ignored when it is written (CommitTracker.reassigned).
   */
  function flushBeforeRebalance(): void {
    if (pendingFlushes < maxInFlight) void flush();
  }

  /** Once per member: `start` is retried with the same member while Kafka is unreachable. */
  function listenTo(member: Consumer): void {
    if (listening.has(member)) return;
    listening.add(member);
    member.on(member.events.REBALANCING, () => void (member === consumer && flushBeforeRebalance()));
    member.on(member.events.GROUP_JOIN, ({ payload }) => {
      commits.reassigned(payload.memberAssignment);
      lag.assign(payload.memberAssignment);
    });
    member.on(member.events.COMMIT_OFFSETS, ({ payload }) => {
      // Long waits that did not reach commitStallMs: what a shorter stall limit would have cut.
      const waitedMs = commits.confirmed(payload.topics);
      if (waitedMs < 5_000) return;
      logger.warn({ groupId, waitedMs }, 'offset commit confirmed after a long wait');
      // A wait this long may be the stall that a rebalance happened to end: kafkajs' account of it.
      if (waitedMs >= 10_000)
        writeKafkaDebug(kafka, logger, `${groupId}: a commit confirmed after ${waitedMs} ms`);
    });
    member.on(member.events.CRASH, ({ payload }) => {
      // kafkajs restarts itself after retriable errors; after any other it stays down for good.
      if (payload.restart || member !== consumer) return;
      crashedWhileJoining(payload.error);
      logger.error(
        { err: errorMessage(payload.error), groupId },
        'Kafka consumer stopped after a non-retriable error',
      );
      if (started) void rebuild(member, 'kafkajs stopped the consumer');
    });
  }

  /**
   * Replaces the kafkajs consumer with a new group member, with backoff until one joins. For a
   * crash kafkajs will not restart, and for commits that stall: kafkajs 2.2.4 can keep sending
   * commits to a coordinator that moved while its heartbeats reach the new one (issue 13), and a
   * new member looks the coordinator up afresh. What is buffered is written first, and every
   * pending batch settled (`flush` resolves after the batches before it), so the new member starts
   * with none in flight; the offsets not yet committed are kept and committed by the new member
   * for the partitions it gets.
   */
  async function rebuild(old: Consumer, reason: string): Promise<void> {
    if (old !== consumer || rebuilding || stopping) return;
    rebuilding = true;
    logger.warn({ groupId, reason, stalledMs: commits.stalledFor() }, 'rebuilding the Kafka consumer');
    writeKafkaDebug(kafka, logger, `${groupId}: ${reason}`);
    await old.stop().catch(() => undefined);
    await flush();
    await old.disconnect().catch(() => undefined);
    for (let attempt = 1; !stopping; attempt++) {
      try {
        await join(newConsumer());
        // The new member gets a full stall period (its GROUP_JOIN may come before the first commit).
        commits.restartClock();
        rebuilds += 1;
        logger.warn({ groupId, attempt }, 'Kafka consumer rebuilt');
        break;
      } catch (err) {
        logger.warn({ err: errorMessage(err), groupId, attempt }, 'Kafka consumer not rebuilt yet; retrying');
        await consumer.disconnect().catch(() => undefined);
        await sleep(Math.min(30_000, 500 * 2 ** attempt), undefined, { signal: shutdown.signal }).catch(
          () => undefined,
        );
      }
    }
    rebuilding = false;
  }

  /** Why commits need a new member, if they do. */
  function commitStall(): string | undefined {
    if (commits.stalledFor() >= commitStallMs) return 'no offset commit confirmed';
    if (commits.refusedFor() >= formerCoordinatorMs)
      return 'commits keep going to a former group coordinator';
    return undefined;
  }

  function tick(): void {
    if (stopping || rebuilding) return;
    // While a write keeps failing no commit can be attempted: that wait is not a commit stall.
    if (failingWrites > 0) commits.restartClock();
    // Checked with batches pending too: under steady input one always is while each commit spends
    // kafkajs' retry budget on a former coordinator, so the stall was never ended (`rebuild`
    // settles the pending batches before the new member joins).
    const stall = commitStall();
    if (stall !== undefined) {
      void rebuild(consumer, stall);
      return;
    }
    // Not behind a running write: while ClickHouse is down that would queue ever more small batches.
    if (pendingFlushes > 0) return;
    if (buffer.highest.size > 0 && Date.now() - buffer.since >= maxMs) void flush();
    else if (commits.size > 0 && !commitQueued) {
      // One retry queued at a time: a failing commit takes kafkajs' whole retry budget
      // (tens of seconds), and queuing one per tick piled up thousands ahead of the flushes.
      commitQueued = true;
      lastFlush = lastFlush.then(() => commit(new Map())).finally(() => (commitQueued = false));
    }
  }

  return {
    get degraded() {
      return failingWrites > 0 || rebuilding;
    },
    get rebuilds() {
      return rebuilds;
    },
    async start() {
      await join(consumer);
      started = true;
      timer = setInterval(tick, Math.max(50, Math.floor(maxMs / 4)));
      // Only for a caller that reports it: each measurement is an admin connection and two requests.
      if (options.onLag || options.onLagGone)
        lagTimer = setInterval(() => void lag.measure(), options.lagIntervalMs ?? 10_000);
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      if (lagTimer) clearInterval(lagTimer);
      // First, so that a write being retried (and a batch handler waiting on it) gives up.
      shutdown.abort(new Error('the consumer is stopping'));
      // Written and committed while still a group member: kafkajs refuses commits once stopped,
      // which left the last batch of every clean shutdown uncommitted and read again.
      await flush(true);
      await consumer.stop();
      // What kafkajs delivered meanwhile is neither written nor committed: the next owner reads it.
      buffer = emptyBuffer<T>();
      await consumer.disconnect();
    },
  };
}
