import type { Admin, Kafka, KafkaMessage } from 'kafkajs';

/** Header carrying the trigger id, so reading the topic needs no JSON parsing. */
export const TRIGGER_ID_HEADER = 'modelwatch-trigger-id';

interface PartitionState {
  /** Next offset to read (everything before it has been read into `seen`). */
  position: bigint;
  /** Read up to here before publishing; undefined while being fetched. */
  end: bigint | undefined;
  /** Ends asked for so far: only the latest one asked for counts. */
  reads: number;
  /** trigger id → its offset. */
  seen: Map<string, string>;
}

/**
 * How far the publisher has read each partition of the retrain topic, the trigger ids found
 * there, and the end each must be read to before publishing to it. Ends are read through an
 * admin client that is replaced after a failure: kafkajs' admin keeps its partition leaders for
 * metadataMaxAge (5 min) and fetchTopicOffsets gives up on NOT_LEADER without refreshing them,
 * so after a leader change the ends stayed unreadable for minutes (seen on the three-broker
 * cluster); a new admin starts from fresh metadata.
 */
export class PartitionProgress {
  private readonly state = new Map<number, PartitionState>();
  private admin: Admin | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {}

  /** Connects the admin client; resolves with the topic's partition count. */
  async connect(): Promise<number> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const [metadata] = (await this.admin.fetchTopicMetadata({ topics: [this.topic] })).topics;
    return metadata?.partitions.length ?? 0;
  }

  async disconnect(): Promise<void> {
    await this.admin?.disconnect();
  }

  private of(p: number): PartitionState {
    let s = this.state.get(p);
    if (!s) {
      s = { position: 0n, end: undefined, reads: 0, seen: new Map() };
      this.state.set(p, s);
    }
    return s;
  }

  /**
   * Publishing to p waits until a new end is read and reached. Returns the read's number for
   * `setEnd`: an end read before a claim may stop before a transaction the claim completed, so an
   * earlier read still in flight must not set it.
   */
  forgetEnd(p: number): number {
    const s = this.of(p);
    s.end = undefined;
    s.reads += 1;
    return s.reads;
  }

  /** Whether `read` (from `forgetEnd`) is p's latest read. */
  latestRead(p: number, read: number): boolean {
    return this.of(p).reads === read;
  }

  /** The partition's end offset now; after a failure the admin is replaced and the error rethrown. */
  async readEnd(p: number): Promise<bigint> {
    try {
      const offsets = await this.admin!.fetchTopicOffsets(this.topic);
      return BigInt(offsets.find((o) => o.partition === p)?.high ?? '0');
    } catch (err) {
      await this.renewAdmin();
      throw err;
    }
  }

  /** Sets p's end from read `read`; false (nothing set) if a later read was asked for since. */
  setEnd(p: number, end: bigint, read: number): boolean {
    if (!this.latestRead(p, read)) return false;
    this.of(p).end = end;
    return true;
  }

  private async renewAdmin(): Promise<void> {
    const old = this.admin;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
    } catch {
      return;
    }
    this.admin = admin;
    await old?.disconnect().catch(() => undefined);
  }

  /** Records the trigger ids of fetched messages; true if the position moved. */
  read(p: number, messages: KafkaMessage[]): boolean {
    const s = this.of(p);
    for (const m of messages) {
      const id = m.headers?.[TRIGGER_ID_HEADER]?.toString() ?? idFromValue(m.value);
      if (id !== undefined) s.seen.set(id, m.offset);
    }
    const last = messages[messages.length - 1];
    return last ? this.advance(p, BigInt(last.offset) + 1n) : false;
  }

  /** Moves p's position to `next` (never back); true if it moved. */
  advance(p: number, next: bigint): boolean {
    const s = this.of(p);
    if (next <= s.position) return false;
    s.position = next;
    return true;
  }

  caughtUp(p: number): boolean {
    const s = this.state.get(p);
    return s !== undefined && s.end !== undefined && s.position >= s.end;
  }

  /** Why p is not read to its end yet, or undefined if it is. */
  behind(p: number): string | undefined {
    if (this.caughtUp(p)) return undefined;
    const s = this.of(p);
    return `partition ${p} not read to its end: position ${s.position}, end ${s.end ?? 'being read'}`;
  }

  offsetOf(p: number, triggerId: string): string | undefined {
    return this.state.get(p)?.seen.get(triggerId);
  }

  markSeen(p: number, triggerId: string, offset: string): void {
    this.of(p).seen.set(triggerId, offset);
  }

  describe(): Record<number, { position: string; end: string; seen: number }> {
    return Object.fromEntries(
      [...this.state].map(([p, s]) => [
        p,
        { position: String(s.position), end: s.end?.toString() ?? 'being read', seen: s.seen.size },
      ]),
    );
  }
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
