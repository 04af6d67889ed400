import type { Kafka } from 'kafkajs';
import { errorMessage } from '../errors.js';
import type { Logger } from '../observability/index.js';

export interface LagMonitorOptions {
  kafka: Kafka;
  groupId: string;
  logger: Logger;
  onLag?: ((topic: string, partition: number, lag: number) => void) | undefined;
  /** A partition reported before is no longer this member's: its series should go. */
  onLagGone?: ((topic: string, partition: number) => void) | undefined;
}

export interface LagMonitor {
  /** The member's assignment after a (re)join. */
  assign(assignment: Readonly<Record<string, readonly number[]>>): void;
  /**
   * Each assigned partition's lag: its end less the group's committed offset (its start where the
   * group has none); reports and forgets the partitions no longer assigned. A failed measurement
   * keeps the last values.
   */
  measure(): Promise<void>;
}

const keyOf = (topic: string, partition: number) => `${topic}\0${partition}`;

/**
 * Lag per partition as Kafka's own tools give it (`kafka-consumer-groups --describe`): what is
 * not committed yet, so not yet durably stored. It was kafkajs' lag of each fetched batch, which
 * froze exactly when it matters: a write that keeps failing (ClickHouse down) holds the fetches,
 * so no batch brought a new figure while the backlog grew (and what was fetched but not written
 * counted as done); and a partition a rebalance gave to another instance kept its last lag here
 * for good. Measured on a timer from the partitions' ends and the group's commits, it grows
 * through an outage, and a partition that went elsewhere is forgotten.
 */
export function createLagMonitor(options: LagMonitorOptions): LagMonitor {
  const { kafka, groupId, logger } = options;
  let assigned = new Map<string, readonly number[]>();
  const reported = new Map<string, { topic: string; partition: number }>();
  let measuring = false;
  let failing = false;

  function report(topic: string, partition: number, lag: number): void {
    reported.set(keyOf(topic, partition), { topic, partition });
    options.onLag?.(topic, partition, lag);
  }

  async function measureOnce(): Promise<void> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const topics = [...assigned.keys()];
      const commits = topics.length > 0 ? await admin.fetchOffsets({ groupId, topics }) : [];
      const committed = new Map(
        commits.flatMap((t) =>
          t.partitions.map((p) => [keyOf(t.topic, p.partition), BigInt(p.offset)] as const),
        ),
      );
      const measured = new Set<string>();
      for (const topic of topics) {
        for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
          if (!assigned.get(topic)?.includes(partition)) continue;
          const key = keyOf(topic, partition);
          const commit = committed.get(key) ?? -1n;
          const lag = BigInt(high) - (commit > BigInt(low) ? commit : BigInt(low));
          report(topic, partition, Number(lag > 0n ? lag : 0n));
          measured.add(key);
        }
      }
      for (const [key, { topic, partition }] of reported) {
        if (measured.has(key)) continue;
        reported.delete(key);
        options.onLagGone?.(topic, partition);
      }
      if (failing) logger.info({ groupId }, 'consumer lag measured again');
      failing = false;
    } catch (err) {
      if (!failing) logger.warn({ err: errorMessage(err), groupId }, 'consumer lag not measured; retrying');
      failing = true;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  return {
    assign(assignment) {
      assigned = new Map(Object.entries(assignment));
    },
    async measure() {
      if (measuring) return; // a slow broker: one measurement at a time
      measuring = true;
      try {
        await measureOnce();
      } finally {
        measuring = false;
      }
    },
  };
}
