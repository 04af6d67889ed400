/**
 * The chain writers of one instance: a batch consumer in its own group over the access-log and
 * audit topics. Each (topic, partition) is one chain, `<topic>/<partition>`, written only by the
 * instance the group assigned it to. The writer reads the head from ClickHouse when it opens and
 * before every append (ChainWriter), and skips offsets at or below the head's, so a partition
 * that moves mid-stream or a redelivered batch is chained once, with no position repeated or skipped.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { ModelwatchError, errorMessage } from '../platform/errors.js';
import {
  createBatchConsumer,
  type BatchConsumer,
  type Kafka,
  type SourceMessage,
} from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { ChainWriter } from './chain-writer.js';
import { isAuditError } from './errors.js';
import { parseAuditRecord, type AuditRecord } from './record.js';
import { accessRecord, type AccessLogEvent } from './record-builders.js';

/** A consumed message: its chain and offset, and the record (undefined: not chainable, skipped). */
export interface AuditItem {
  chain: string;
  offset: number;
  record: AuditRecord | undefined;
}

export interface AuditConsumerOptions {
  kafka: Kafka;
  db: Database;
  groupId: string;
  /** The access-log topic (events as SPEC 3.2). */
  accessLogTopic: string;
  /** The topic of API-call and state-change records (AuditLog). */
  auditTopic: string;
  logger: Logger;
  /** @default 500 */
  maxMs?: number;
  /** @default 30000 */
  sessionTimeoutMs?: number;
  /** Called with each chain's new head after an append (for digests and tests). */
  onAppend?: (chain: string, position: number, hash: string) => void;
}

export interface AuditConsumer extends BatchConsumer {
  /** Messages that could not be chained (not a valid record); the collectors dead-letter bad access events. */
  readonly skipped: number;
}

export function chainName(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The record a message carries, or undefined when it is not one (logged, skipped). */
export function decodeAuditMessage(
  source: SourceMessage,
  accessLogTopic: string,
  now = Date.now(),
): AuditRecord | undefined {
  const text = source.message.value?.toString('utf8');
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return parseAuditRecord(source.topic === accessLogTopic ? accessInput(value) : value, { now });
  } catch {
    return undefined;
  }
}

function accessInput(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  // The event schema allows null for absent optional fields; the record omits them.
  const event = Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null),
  ) as unknown as AccessLogEvent;
  return accessRecord(event);
}

export function createAuditConsumer(options: AuditConsumerOptions): AuditConsumer {
  const { db, logger } = options;
  // A writer per chain this instance has written. It re-reads the stored head before every
  // append (checkHead), so one kept across a rebalance continues where the other owner stopped.
  const writers = new Map<string, ChainWriter>();
  let skipped = 0;

  async function writer(chain: string): Promise<ChainWriter> {
    const open = writers.get(chain) ?? (await ChainWriter.open(db, chain));
    writers.set(chain, open);
    return open;
  }

  async function write(items: AuditItem[]): Promise<void> {
    const byChain = new Map<string, AuditItem[]>();
    for (const item of items) byChain.set(item.chain, [...(byChain.get(item.chain) ?? []), item]);
    for (const [chain, chainItems] of byChain) {
      const entries = chainItems.flatMap((i) =>
        i.record ? [{ record: i.record, sourceOffset: i.offset }] : [],
      );
      if (entries.length === 0) continue;
      try {
        const result = await (await writer(chain)).append(entries);
        options.onAppend?.(chain, result.head.position, result.head.hash);
      } catch (err) {
        // A record the writer refuses cannot be chained by retrying: let the consumer isolate it.
        if (isAuditError(err, 'INVALID_RECORD'))
          throw new ModelwatchError('BAD_REQUEST', err.message, false, { cause: err });
        throw err;
      }
    }
  }

  const consumer = createBatchConsumer<AuditItem>({
    kafka: options.kafka,
    groupId: options.groupId,
    topics: [options.accessLogTopic, options.auditTopic],
    logger,
    maxMs: options.maxMs ?? 500,
    maxRows: 5_000,
    sessionTimeoutMs: options.sessionTimeoutMs,
    sink: {
      decode(source) {
        const record = decodeAuditMessage(source, options.accessLogTopic);
        if (!record) skipped += 1;
        return { chain: chainName(source.topic, source.partition), offset: Number(source.offset), record };
      },
      write,
      reject(item, err) {
        skipped += 1;
        logger.warn(
          { err: errorMessage(err), chain: item.chain, offset: item.offset },
          'an audit record was refused; skipped',
        );
        return { ...item, record: undefined };
      },
    },
  });
  let stopped: Promise<void> | undefined;
  return {
    get degraded() {
      return consumer.degraded;
    },
    get skipped() {
      return skipped;
    },
    get rebuilds() {
      return consumer.rebuilds;
    },
    async start() {
      await consumer.start();
    },
    /** Idempotent: a test may stop one instance's writers before the service closes. */
    stop() {
      stopped ??= consumer.stop();
      return stopped;
    },
  };
}
