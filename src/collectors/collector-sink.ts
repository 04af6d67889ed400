import type { ModelRegistry, SeenVersion } from '../models/index.js';
import { classifyWriteError, joinRows, type Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Message } from 'kafkajs';
import { isMessageTooLarge, type BatchSink, type PartitionedSender } from '../platform/kafka/index.js';
import { deadLetterMessage, withoutValue, type DeadLetter } from './dead-letter.js';
import {
  createDecoder,
  deadLetter,
  type CollectorTopics,
  type Decoded,
  type PredictionFacts,
  type Table,
} from './decode.js';
import type { IngestMetrics } from './ingest-metrics.js';
import { PREDICTION_ROW } from './rows.js';

export type { CollectorTopics, Decoded } from './decode.js';

export interface CollectorSinkDeps {
  db: Database;
  /** Sends dead letters, one send per partition (partitioned-send.ts), through an idempotent producer. */
  letters: PartitionedSender;
  models: ModelRegistry;
  metrics: IngestMetrics;
  topics: CollectorTopics;
  /** @default 1 MiB */
  maxMessageBytes: number;
  /** @default 86400000 (1 day) */
  maxFutureSkewMs: number;
  /** @default 1000 */
  maxFeatures: number;
  /** @default 256 */
  maxFeatureNameLength: number;
  /** The ingest time, for the future-timestamp check. @default Date.now */
  now?: () => number;
}

const TABLES: readonly Table[] = ['predictions', 'labels', 'access_log'];

/**
 * Lettered source positions remembered per process. A batch is read again when its offset commit
 * failed, which a rebalance does to a batch flushed while the group changed generation (seen in
 * the rebalance fault test: one poison message lettered twice); the same instance usually keeps
 * the partition, and then this memory keeps the letter single.
 */
const MAX_REMEMBERED_LETTERS = 100_000;

/** A message being dead-lettered. */
type Lettered = Extract<Decoded, { ok: false }>;

const sourceKey = (item: Lettered) => {
  const { topic, partition, offset } = item.letter.source;
  return `${topic}\0${partition}\0${offset}`;
};

// A batch may span more months than max_partitions_per_insert_block (100) allows when producers
// backfill; that is no reason to refuse it (ClickHouse then logs a warning instead).
// Not merged on insert: the tables are ReplacingMergeTrees read with FINAL (or written again by a
// redelivery into another part anyway), and merging a block as it is stored copies it row by row
// (README, "Not merged on insert").
const INSERT_SETTINGS = { throw_on_max_partitions_per_insert_block: 0, optimize_on_insert: 0 };

/**
 * Validates and reshapes each message as it arrives; writes a flushed batch table by table.
 * Every item is marked `done` once stored or once its dead letter is acknowledged, so a retried
 * (or split) batch repeats only what did not happen yet.
 */
export function createCollectorSink(deps: CollectorSinkDeps): BatchSink<Decoded> {
  const { topics } = deps;
  const decode = createDecoder(deps);
  // Source positions this process has lettered, oldest first, bounded.
  const remembered = new Set<string>();
  const remember = (key: string) => {
    remembered.add(key);
    if (remembered.size > MAX_REMEMBERED_LETTERS) remembered.delete(remembered.values().next().value ?? '');
  };

  async function store(table: Table, items: Decoded[]): Promise<void> {
    if (items.length === 0) return;
    try {
      if (table === 'predictions')
        await deps.db.insertJsonEachRow(table, joinRows(rowsOf(inKeyOrder(items))), {
          ...PREDICTION_INSERT,
          settings: INSERT_SETTINGS,
        });
      else await deps.db.insertJsonEachRow(table, joinLines(items), { settings: INSERT_SETTINGS });
    } catch (err) {
      throw classifyWriteError(err, `insert into ${table}`);
    }
    finish(items, deps.metrics);
  }

  async function register(items: Decoded[]): Promise<void> {
    const seen = new Map<string, SeenVersion>();
    let previous: { facts: PredictionFacts; seen: SeenVersion } | undefined;
    for (const item of items) {
      const p = item.ok ? item.prediction : undefined;
      if (!p) continue;
      // Runs of one model version are the rule: only a change of version needs a lookup, unless
      // the task so far comes from a failed prediction.
      const sameRun = previous && previous.facts.model === p.model && previous.facts.version === p.version;
      if (sameRun && !previous!.seen.fromErrors) continue;
      const key = `${p.model}\0${p.version}`;
      const entry = seen.get(key) ?? {
        modelId: p.model,
        version: p.version,
        task: p.task,
        firstSeen: p.time,
        fromErrors: p.isError,
      };
      seen.set(key, entry);
      // A failed prediction may carry no score: a binary classifier's would read as regression. A
      // version whose every prediction in the batch failed is known, and its task inferred again
      // by the registry at the first batch where one did not (SeenVersion.fromErrors).
      if (entry.fromErrors && !p.isError) Object.assign(entry, { task: p.task, fromErrors: false });
      previous = { facts: p, seen: entry };
    }
    if (seen.size === 0) return;
    try {
      await deps.models.registerSeen([...seen.values()]);
    } catch (err) {
      throw classifyWriteError(err, 'registering model versions');
    }
  }

  /**
   * One batch's letters at a time. After a rebalance the new generation reads again from the last
   * commit while an earlier batch may still be sending the same poison message's letter (held up
   * by a broker restart): both found it unsent and both sent it (the rolling-restart fault test,
   * one producer, two letters for one source offset). In turn, the later batch finds it remembered.
   */
  let lettering: Promise<unknown> = Promise.resolve();

  function sendLetters(items: Decoded[]): Promise<void> {
    const letters = items.filter((i): i is Lettered => !i.ok);
    if (letters.length === 0) return Promise.resolve();
    const turn = lettering.then(() => sendLettersNow(letters));
    lettering = turn.catch(() => undefined);
    return turn;
  }

  async function sendLettersNow(letters: Lettered[]): Promise<void> {
    // Redelivered after its offset commit failed (a rebalance changed the generation) and already
    // lettered (and counted) by this process: done, not lettered or counted twice.
    for (const item of letters) if (remembered.has(sourceKey(item))) item.done = true;
    const unsent = letters.filter((i) => !i.done);
    if (unsent.length === 0) return;
    try {
      await send(unsent, (i) => deadLetterMessage(i.letter));
    } catch (err) {
      if (!isMessageTooLarge(err)) throw err;
      // The topic takes smaller records than a send is cut to (its max.message.bytes): one letter
      // a send, and a letter too large for the topic even alone goes without its value.
      for (const item of unsent.filter((i) => !i.done)) {
        await send([item], (i) => deadLetterMessage(i.letter)).catch((tooLarge: unknown) => {
          if (!isMessageTooLarge(tooLarge)) throw tooLarge;
          return send([item], (i) => withoutValue(deadLetterMessage(i.letter)));
        });
      }
    }
  }

  /**
   * acks=-1 and awaited: a dead letter must be durable before its offset is committed. Each
   * partition's letters are marked done as soon as they are acknowledged, so a retry after a
   * partial failure sends only the others (no source offset is lettered twice).
   */
  function send(letters: Lettered[], message: (item: Lettered) => Message): Promise<void> {
    return deps.letters.send(topics.deadLetter, letters.map(message), {
      acks: -1,
      onSent: (indices) => {
        const sent = indices.flatMap((i) => letters[i] ?? []);
        for (const item of sent) remember(sourceKey(item));
        finish(sent, deps.metrics);
      },
    });
  }

  async function write(items: Decoded[]): Promise<void> {
    const pending = items.filter((i) => !i.done);
    // Versions first: a row ClickHouse refuses there (bad text in model_id) is then never stored.
    await register(pending);
    for (const table of TABLES)
      await store(
        table,
        pending.filter((i) => i.ok && i.table === table),
      );
    await sendLetters(pending.filter((i) => !i.ok));
  }

  function reject(item: Decoded, err: unknown): Decoded {
    if (!item.ok) return item;
    return deadLetter(item.source, 'rejected', errorMessage(err));
  }

  return { decode, write, reject, size: itemBytes };
}

const NEWLINE = Buffer.from('\n');

/**
 * Predictions go straight into their table as RowBinary rows (rows.ts); the engine only copies
 * the values in. The columns are named since `ingested_at` is left to its default.
 */
const PREDICTION_INSERT = { format: 'RowBinary', ...PREDICTION_ROW } as const;

/**
 * Predictions in the order of their table's key (model_id, timestamp, prediction_id), so that the
 * engine stores the block as it reads it: a block out of that order is permuted into a copy first
 * (README, "In key order"). Only the insert's order changes; items are counted in the batch's.
 * Strings compare by UTF-16 code units here and by UTF-8 bytes in the engine, which differ only
 * between characters past U+FFFF and U+E000–U+FFFF: such a block is permuted as before.
 */
function inKeyOrder(items: Decoded[]): Decoded[] {
  return items.filter((item) => item.ok).sort(byPredictionKey);
}

function byPredictionKey(a: Decoded, b: Decoded): number {
  const p = a.ok ? a.prediction : undefined;
  const q = b.ok ? b.prediction : undefined;
  if (!p || !q) return 0;
  return compareText(p.model, q.model) || p.time - q.time || compareText(p.id, q.id);
}

const compareText = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

function* rowsOf(items: Decoded[]): Generator<Buffer> {
  for (const item of items) if (item.ok) yield item.row;
}

/** JSONEachRow rows as one insert body, copied once. */
function joinLines(items: Decoded[]): Buffer {
  const parts: Buffer[] = [];
  for (const row of rowsOf(items)) {
    if (parts.length > 0) parts.push(NEWLINE);
    parts.push(row);
  }
  return Buffer.concat(parts);
}

/** What a buffered item holds: its row and the message it came from (kept for a dead letter). */
function itemBytes(item: Decoded): number {
  const message = item.ok ? item.source.message : item.letter.source.message;
  const raw = (message.value?.length ?? 0) + (message.key?.length ?? 0);
  return item.ok ? item.row.length + raw : raw;
}

interface VersionCounts {
  model: string;
  version: string;
  stored: number;
  errors: number;
  latencySeconds: number[];
}

/** Marks items done and counts them: only after their write succeeded, so a retry counts nothing twice. */
function finish(items: Decoded[], metrics: IngestMetrics): void {
  // Counted per batch, not per message: prom-client hashes the labels on every call.
  const stored = new Map<string, number>();
  const lettered = new Map<string, { topic: string; reason: DeadLetter['reason']; n: number }>();
  const versions = new Map<string, VersionCounts>();
  let current: VersionCounts | undefined;
  for (const item of items) {
    item.done = true;
    if (!item.ok) {
      const { topic } = item;
      const { reason } = item.letter;
      const key = `${topic}\0${reason}`;
      const entry = lettered.get(key) ?? { topic, reason, n: 0 };
      entry.n += 1;
      lettered.set(key, entry);
      continue;
    }
    stored.set(item.topic, (stored.get(item.topic) ?? 0) + 1);
    const p = item.prediction;
    if (!p) continue;
    // Runs of one model version are the rule: only a change of version needs a lookup.
    if (current?.model !== p.model || current.version !== p.version) current = countsOf(versions, p);
    current.stored += 1;
    if (p.isError) current.errors += 1;
    if (p.latencyMs !== null && Number.isFinite(p.latencyMs)) current.latencySeconds.push(p.latencyMs / 1000);
  }
  for (const [topic, n] of stored) observe(() => metrics.messages.inc({ topic, outcome: 'stored' }, n));
  const letters = new Map<string, number>();
  for (const { topic, reason, n } of lettered.values()) {
    letters.set(topic, (letters.get(topic) ?? 0) + n);
    observe(() => metrics.deadLetters.inc({ topic, reason }, n));
  }
  for (const [topic, n] of letters) observe(() => metrics.messages.inc({ topic, outcome: 'dead_letter' }, n));
  for (const v of versions.values()) {
    const labels = metrics.versionLabels(v.model, v.version);
    observe(() => metrics.predictions.inc(labels, v.stored));
    // Also by 0: a series born at its first errors has no rate() for them, and a version without
    // errors would have no 0% line.
    observe(() => metrics.predictionErrors.inc(labels, v.errors));
    if (v.latencySeconds.length === 0) continue;
    const histogram = metrics.predictionLatency.labels(labels);
    for (const seconds of v.latencySeconds) observe(() => histogram.observe(seconds));
  }
}

function countsOf(versions: Map<string, VersionCounts>, p: PredictionFacts): VersionCounts {
  const key = `${p.model}\0${p.version}`;
  let counts = versions.get(key);
  if (!counts) {
    counts = { model: p.model, version: p.version, stored: 0, errors: 0, latencySeconds: [] };
    versions.set(key, counts);
  }
  return counts;
}

/** A metric update never fails a batch (prom-client throws on a non-finite value): the row is stored, only its count is missing. */
function observe(update: () => void): void {
  try {
    update();
  } catch {
    // See above.
  }
}
