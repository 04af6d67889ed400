/** One partition's offset to commit: the next offset to read, as kafkajs takes it. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

const keyOf = (topic: string, partition: number) => `${topic}\0${partition}`;

function split(key: string): { topic: string; partition: number } {
  const [topic = '', partition = '0'] = key.split('\0');
  return { topic, partition: Number(partition) };
}

/**
 * The offsets whose rows are written but whose commit the broker has not confirmed, and how long
 * commits have made no progress. A commit counts only once kafkajs reports it (its
 * COMMIT_OFFSETS event): kafkajs drops a commit silently while its runner restarts, and after a
 * coordinator move it can keep sending commits to the old coordinator for good (issue 13), so
 * the batch consumer rebuilds its kafkajs consumer when `stalledFor` grows too long.
 */
export class CommitTracker {
  /** Highest written offset per partition, not yet confirmed committed. */
  private readonly unconfirmed = new Map<string, bigint>();
  /** Next offset the broker confirmed per partition: nothing below it is committed again. */
  private readonly floor = new Map<string, bigint>();
  /** Since when offsets have waited without a confirmation (undefined: nothing waits). */
  private waitingSince: number | undefined;
  /** Since when every commit has been refused with NOT_COORDINATOR (undefined: not now). */
  private refusedSince: number | undefined;
  /** The partitions this member owns since its last join (undefined: not joined yet, any). */
  private owned: Set<string> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.unconfirmed.size;
  }

  /** Records a written batch's highest offset per `topic\0partition` key. */
  add(highest: ReadonlyMap<string, bigint>): void {
    for (const [key, offset] of highest) {
      // A batch that settles after its partition went to another member: committing it could move
      // the group's offset back behind the new owner's (its rows are written; they dedupe).
      if (this.owned && !this.owned.has(key)) continue;
      // A batch read again after a consumer rebuild is below what is committed already.
      if (offset < (this.floor.get(key) ?? 0n) || offset <= (this.unconfirmed.get(key) ?? -1n)) continue;
      this.unconfirmed.set(key, offset);
    }
    if (this.unconfirmed.size > 0) this.waitingSince ??= this.now();
  }

  /** The offsets to commit now (next offset to read per partition). */
  pending(): PartitionOffset[] {
    return [...this.unconfirmed].map(([key, offset]) => ({
      ...split(key),
      offset: (offset + 1n).toString(),
    }));
  }

  /**
   * kafkajs' COMMIT_OFFSETS payload: these offsets are committed. Returns how long offsets had
   * waited for this confirmation (0 if none waited), to log long waits.
   */
  confirmed(topics: { topic: string; partitions: { partition: number; offset: unknown }[] }[]): number {
    const waited = this.stalledFor();
    this.refusedSince = undefined;
    for (const { topic, partitions } of topics) {
      for (const { partition, offset } of partitions) {
        const key = keyOf(topic, partition);
        // kafkajs reports the offset as a Long; its decimal text is exact.
        const next = BigInt(String(offset));
        if (next > (this.floor.get(key) ?? 0n)) this.floor.set(key, next);
        const pending = this.unconfirmed.get(key);
        if (pending !== undefined && next > pending) this.unconfirmed.delete(key);
      }
    }
    this.waitingSince = this.unconfirmed.size > 0 ? this.now() : undefined;
    return waited;
  }

  /**
   * After a rebalance, offsets of partitions this member no longer owns are dropped (and ignored
   * when a batch in flight brings them later): the new
   * owner re-reads from the last commit, and the rows already written collapse with the
   * redelivered ones (ReplacingMergeTree + FINAL). A new generation (or a new member) gets a
   * full stall period before its commits count as stalled.
   */
  reassigned(assignment: Record<string, number[]>): void {
    this.owned = new Set(
      Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((p) => keyOf(topic, p))),
    );
    for (const map of [this.unconfirmed, this.floor]) {
      for (const key of [...map.keys()]) {
        const { topic, partition } = split(key);
        if (!(assignment[topic] ?? []).includes(partition)) map.delete(key);
      }
    }
    this.restartClock();
  }

  /**
   * Restarts the stall clock: no commit could be attempted meanwhile (a write kept failing) or
   * a new member just joined.
   */
  restartClock(): void {
    this.waitingSince = this.unconfirmed.size > 0 ? this.now() : undefined;
    this.refusedSince = undefined;
  }

  /**
   * A commit that kafkajs gave up on. kafkajs 2.2.4 sends commits to the coordinator of the
   * group's last SyncGroup (its OffsetManager) until it joins again, and on NOT_COORDINATOR only
   * refreshes metadata. When the coordinator moves, the heartbeats' rejoin usually fixes that in
   * seconds; but when that JoinGroup meets a coordinator still loading, kafkajs gives the join up,
   * goes on fetching and heartbeating to the new coordinator as the same member, and sends every
   * commit to the old one for good (traced with kafkajs DEBUG entries, issue 13).
   */
  commitFailed(err: unknown): void {
    if (kafkaErrorType(err) === 'NOT_COORDINATOR_FOR_GROUP') this.refusedSince ??= this.now();
  }

  /** Milliseconds since commits started being refused by a former coordinator (0: they are not). */
  refusedFor(): number {
    return this.refusedSince === undefined ? 0 : this.now() - this.refusedSince;
  }

  /** Milliseconds the oldest unconfirmed offsets have waited without any confirmation (0: none wait). */
  stalledFor(): number {
    return this.waitingSince === undefined ? 0 : this.now() - this.waitingSince;
  }
}

/** The protocol error type (e.g. NOT_COORDINATOR_FOR_GROUP) of a kafkajs error or of what it wraps. */
export function kafkaErrorType(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { type, cause } = current as { type?: unknown; cause?: unknown };
    if (typeof type === 'string') return type;
    current = cause;
  }
  return undefined;
}
