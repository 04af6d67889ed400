/**
 * The chain writers of one instance: a batch consumer in its own group over the access-log and
 * audit topics. Each (topic, partition) is one chain, `<topic>/<partition>`, written only by the
 * instance the group assigned it to. The writer reads the head from ClickHouse when it opens and
 * before every append (ChainWriter), and skips offsets at or below the head's, so a partition
 * that moves mid-stream or a redelivered batch is chained once, with no position repeated or skipped.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { eventTimeMs } from '../collectors/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { ModelwatchError, errorMessage } from '../platform/errors.js';
import {
  createBatchConsumer,
  fetchTopicEnds,
  type BatchConsumer,
  type Kafka,
  type SourceMessage,
} from '../platform/kafka/index.js';
import type { Logger } from '../platform/observability/index.js';
import { ChainWriter, type AppendOptions } from './chain-writer.js';
import { AuditError, isAuditError } from './errors.js';
import { parseAuditRecord, type AuditRecord, type ParseOptions } from './record.js';
import { accessRecord, type AccessLogEvent } from './record-builders.js';

/** A consumed message: its chain and offset, and the record (undefined: not chainable, skipped). */
export interface AuditItem {
  chain: string;
  offset: number;
  /** The partition's high watermark when the batch was fetched (undefined: not known). */
  end?: number;
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
  /** Where the skipped-record counter and the corrupt-chain gauge register. @default none */
  registry?: Registry;
  /**
   * How far past now a record's time may be: the collectors' MODELWATCH_MAX_FUTURE_SKEW, so an
   * access event they accept is chained too. @default MAX_FUTURE_MS (one day, theirs too)
   */
  maxFutureMs?: number;
}

export interface AuditConsumer extends BatchConsumer {
  /** Messages that could not be chained (not a valid record); the collectors dead-letter bad access events. */
  readonly skipped: number;
  /** Entries skipped as already chained (a redelivery): source offset at or below the head's. */
  readonly alreadyChained: number;
  /** Chains whose stored head cannot be continued (CHAIN_CORRUPT): held, not skipped. */
  readonly corrupt: ReadonlySet<string>;
}

export function chainName(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** The record a message carries, or why it is none (a reason that never quotes the message). */
export type DecodedAuditMessage = { record: AuditRecord } | { refused: string };

export function decodeAuditMessage(
  source: SourceMessage,
  accessLogTopic: string,
  options: ParseOptions = {},
): DecodedAuditMessage {
  const text = source.message.value?.toString('utf8');
  if (!text) return { refused: 'empty message value' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the text around the error.
    return { refused: 'not JSON' };
  }
  try {
    const input = source.topic === accessLogTopic ? accessInput(value) : value;
    return { record: parseAuditRecord(input, options) };
  } catch (err) {
    return { refused: isAuditError(err) ? err.message : 'not an audit record' };
  }
}

/**
 * The record of an access-log event, read as the collectors read it (every event they store is
 * chained, SPEC 8): the time by their parser (no zone = UTC, a date alone, `+0100`, 1900-2299),
 * nulls (absent optional fields) omitted.
 */
function accessInput(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const event = Object.fromEntries(
    Object.entries(value).filter(([, v]) => v !== null),
  ) as unknown as AccessLogEvent;
  return accessRecord({ ...event, timestamp: accessTime(event.timestamp) });
}

function accessTime(timestamp: unknown): number {
  const ms =
    typeof timestamp === 'string' || typeof timestamp === 'number' ? eventTimeMs(timestamp) : undefined;
  if (ms !== undefined) return ms;
  throw new AuditError(
    'INVALID_RECORD',
    'access event: timestamp is not an ISO-8601 time or epoch milliseconds in 1900-2299',
    false,
    'timestamp',
  );
}

export function createAuditConsumer(options: AuditConsumerOptions): AuditConsumer {
  const { db, logger } = options;
  // A writer per chain this instance has written. It re-reads the stored head before every
  // append (checkHead), so one kept across a rebalance continues where the other owner stopped.
  const writers = new Map<string, ChainWriter>();
  const metrics = consumerMetrics(options.registry);
  let skipped = 0;
  let alreadyChained = 0;
  const corrupt = new Set<string>();

  const parseOptions = options.maxFutureMs === undefined ? {} : { maxFutureMs: options.maxFutureMs };

  async function writer(chain: string): Promise<ChainWriter> {
    const open = writers.get(chain) ?? (await ChainWriter.open(db, chain, parseOptions));
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
        const result = await appendChecked(await writer(chain), chain, entries, sourceEnd(chainItems));
        cleared(chain);
        if (result.skipped > 0) redelivered(chain, result.skipped, entries[0]?.sourceOffset);
        options.onAppend?.(chain, result.head.position, result.head.hash);
      } catch (err) {
        // A record the writer refuses cannot be chained by retrying: let the consumer isolate it.
        if (isAuditError(err, 'INVALID_RECORD'))
          throw new ModelwatchError('BAD_REQUEST', err.message, false, { cause: err });
        // Retryable: the batch waits (readiness off) until someone repairs the head row.
        if (isAuditError(err, 'CHAIN_CORRUPT')) corrupted(chain, err.message);
        throw err;
      }
    }
  }

  /**
   * Appends; a head at or past the end the batch was fetched with is judged again by the
   * partition's end now: after a rebalance another instance may have chained past that end
   * (then this batch is simply already chained), which an edited `source_offset` cannot.
   */
  async function appendChecked(
    w: ChainWriter,
    chain: string,
    entries: Parameters<ChainWriter['append']>[0],
    fetched: AppendOptions,
  ) {
    try {
      return await w.append(entries, fetched);
    } catch (err) {
      if (!isAuditError(err, 'CHAIN_CORRUPT') || fetched.sourceEnd === undefined) throw err;
      const now = await partitionEnd(chain);
      if (now === undefined || now <= fetched.sourceEnd) throw err;
      return w.append(entries, { sourceEnd: now });
    }
  }

  /** The chain's partition's end now, or undefined when Kafka does not tell. */
  async function partitionEnd(chain: string): Promise<number | undefined> {
    const slash = chain.lastIndexOf('/');
    const [topic, partition] = [chain.slice(0, slash), Number(chain.slice(slash + 1))];
    try {
      const ends = await fetchTopicEnds(options.kafka, topic, { attempts: 1 });
      const high = ends.find((e) => e.partition === partition)?.high;
      return high === undefined ? undefined : Number(high);
    } catch {
      return undefined;
    }
  }

  function redelivered(chain: string, count: number, firstOffset: number | undefined): void {
    alreadyChained += count;
    metrics?.skipped.inc({ reason: 'already_chained' }, count);
    logger.info({ chain, skipped: count, offset: firstOffset }, 'audit records already chained; skipped');
  }

  function corrupted(chain: string, message: string): void {
    // Logged once per episode: the batch consumer retries every few seconds.
    if (!corrupt.has(chain)) logger.error({ chain, err: message }, 'audit chain head is corrupt; chain held');
    corrupt.add(chain);
    metrics?.corrupt.set(corrupt.size);
  }

  function cleared(chain: string): void {
    if (!corrupt.delete(chain)) return;
    logger.warn({ chain }, 'audit chain head repaired; chaining resumed');
    metrics?.corrupt.set(corrupt.size);
  }

  function invalid(): void {
    skipped += 1;
    metrics?.skipped.inc({ reason: 'invalid' });
  }

  function refused(source: SourceMessage, reason: string): void {
    invalid();
    const { topic, partition, offset } = source;
    logger.warn({ topic, partition, offset, reason }, 'a message is not an audit record; skipped');
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
        const decoded = decodeAuditMessage(source, options.accessLogTopic, parseOptions);
        if ('refused' in decoded) refused(source, decoded.refused);
        const end = source.highWatermark === undefined ? undefined : Number(source.highWatermark);
        return {
          chain: chainName(source.topic, source.partition),
          offset: Number(source.offset),
          ...(end === undefined ? {} : { end }),
          record: 'record' in decoded ? decoded.record : undefined,
        };
      },
      write,
      reject(item, err) {
        invalid();
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
    get alreadyChained() {
      return alreadyChained;
    },
    get corrupt() {
      return corrupt;
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

/** The partition's end as the batch saw it (never below its own offsets), when Kafka said. */
function sourceEnd(items: readonly AuditItem[]): AppendOptions {
  const ends = items.flatMap((i) => (i.end === undefined ? [] : [i.end]));
  if (ends.length === 0) return {};
  return { sourceEnd: Math.max(...ends, ...items.map((i) => i.offset + 1)) };
}

function consumerMetrics(registry: Registry | undefined) {
  if (!registry) return undefined;
  return {
    skipped: new Counter({
      name: 'modelwatch_audit_records_skipped_total',
      help: 'Consumed audit messages not chained: invalid (not a record) or already_chained (a redelivery)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    corrupt: new Gauge({
      name: 'modelwatch_audit_chains_corrupt',
      help: 'Audit chains held because their stored head cannot be continued (an edited row): nothing is chained to them until it is repaired',
      registers: [registry],
    }),
  };
}
