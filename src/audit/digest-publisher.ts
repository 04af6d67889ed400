/**
 * Publishes chain heads to the digests topic at an interval and at shutdown, so an auditor holds
 * them outside ClickHouse (`audit verify --from-topic` reads them back). Every instance publishes
 * every chain's head it reads: duplicates are harmless, a missing instance is not.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { PartitionedSender } from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { takeDigest } from './digest.js';
import type { DigestEntry } from './verify.js';

export interface DigestPublisherOptions {
  db: Database;
  /** One send per partition: a multi-partition kafkajs send can drop a partition's share (issue 13). */
  sender: PartitionedSender;
  topic: string;
  logger: Logger;
  /** @default 300000 */
  intervalMs?: number;
  /** Published entries kept for the verify route. @default 10000 */
  maxHeld?: number;
}

export class DigestPublisher {
  private timer: NodeJS.Timeout | undefined;
  private readonly last = new Map<string, string>();
  private held: DigestEntry[] = [];
  private running: Promise<number> = Promise.resolve(0);

  constructor(private readonly options: DigestPublisherOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.publish(), this.options.intervalMs ?? 300_000);
    this.timer.unref();
  }

  /** Stops the timer and publishes the heads once more. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.publish();
  }

  /** Entries this instance published (oldest first), to check the store against. */
  published(): readonly DigestEntry[] {
    return this.held;
  }

  /** Publishes the heads that moved since the last time; resolves with how many. One run at a time. */
  publish(): Promise<number> {
    this.running = this.running
      .then(() => this.publishNow())
      .catch((err: unknown) => {
        this.options.logger.warn(
          { err: errorMessage(err) },
          'audit digest not published; next interval retries',
        );
        return 0;
      });
    return this.running;
  }

  private async publishNow(): Promise<number> {
    const heads = (await takeDigest(this.options.db)).filter(
      (h) => this.last.get(h.chain) !== `${h.position}:${h.hash}`,
    );
    if (heads.length === 0) return 0;
    await this.options.sender.send(
      this.options.topic,
      heads.map((h) => ({ key: h.chain, value: JSON.stringify(h) })),
    );
    for (const h of heads) this.last.set(h.chain, `${h.position}:${h.hash}`);
    this.held = [...this.held, ...heads].slice(-(this.options.maxHeld ?? 10_000));
    return heads.length;
  }
}
