/**
 * Appends records to one chain. Appends are serialized, the head is read from ClickHouse when
 * the writer opens (so a new owner of a chain continues it), and after any failed or conflicting
 * append the head is re-read before the next one: a write that landed despite an error is
 * adopted rather than forked.
 */
import type { Database } from '../platform/clickhouse/index.js';
import { emptyHead, linkRecords, type ChainHead } from './chain.js';
import { AuditError, isAuditError } from './errors.js';
import { parseAuditRecord, type AuditRecord, type ParseOptions } from './record.js';
import { insertRowLines, readHead, rowLine } from './store.js';

/** One record to chain, with the offset of the message that carried it when there is one. */
export interface AppendEntry {
  record: unknown;
  /**
   * Offset of the source message (e.g. the Kafka offset in the partition this chain belongs to).
   * An entry at or below the stored head's offset was chained before and is skipped, so a
   * redelivered batch is chained once.
   */
  sourceOffset?: number;
}

export interface AppendResult {
  /** Positions and hashes of the rows written, in order. */
  appended: { position: number; hash: string }[];
  /** Entries skipped as already chained (source offset at or below the head's). */
  skipped: number;
  head: ChainHead;
}

export interface AppendOptions {
  /**
   * Where the source ends (e.g. the partition's high watermark when the batch was fetched). A
   * stored head whose source offset is at or beyond it was not written from that source: an
   * edited `source_offset` (not hashed) would make every later entry look already chained.
   */
  sourceEnd?: number;
}

export interface ChainWriterOptions {
  /**
   * Re-read the stored head before every append and refuse (CHAIN_CONFLICT) when another writer
   * moved it. Not atomic: it narrows, not closes, the window for a stale owner. @default true
   */
  checkHead?: boolean;
  /** Epoch ms, for the far-future check of record times. @default Date.now */
  now?: () => number;
  /** How far past now a record's time may be. @default MAX_FUTURE_MS */
  maxFutureMs?: number;
}

interface WriterHead extends ChainHead {
  sourceOffset: number;
}

export class ChainWriter {
  private queue: Promise<unknown> = Promise.resolve();
  private stale = false;

  private constructor(
    private readonly db: Database,
    private current: WriterHead,
    private readonly options: ChainWriterOptions,
  ) {}

  /** Opens a writer on `chain`, continuing from its stored head. */
  static async open(db: Database, chain: string, options: ChainWriterOptions = {}): Promise<ChainWriter> {
    return new ChainWriter(db, await loadHead(db, chain), options);
  }

  get chain(): string {
    return this.current.chain;
  }

  get head(): ChainHead {
    const { chain, position, hash } = this.current;
    return { chain, position, hash };
  }

  /** Chains `entries` after the head, all or none; appends run one at a time in call order. */
  append(entries: readonly AppendEntry[], options: AppendOptions = {}): Promise<AppendResult> {
    const run = this.queue.then(() => this.appendNow(entries, options));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async appendNow(entries: readonly AppendEntry[], options: AppendOptions): Promise<AppendResult> {
    const parse = { now: (this.options.now ?? Date.now)(), maxFutureMs: this.options.maxFutureMs };
    const parsed = entries.map((entry, i) => parseEntry(entry, i, parse));
    if (this.stale || this.options.checkHead !== false) await this.resync();
    this.checkSourceEnd(options.sourceEnd);
    const fresh = parsed.filter((e) => e.sourceOffset < 0 || e.sourceOffset > this.current.sourceOffset);
    const { links, head } = linkRecords(
      this.current,
      fresh.map((e) => e.record),
    );
    const lines = links.map((link, i) => rowLine(link, link.parsed, fresh[i]?.sourceOffset ?? -1));
    try {
      await insertRowLines(this.db, lines);
    } catch (err) {
      this.stale = true;
      throw err;
    }
    const lastOffset = fresh.reduce((max, e) => Math.max(max, e.sourceOffset), this.current.sourceOffset);
    this.current = { ...head, sourceOffset: lastOffset };
    return {
      appended: links.map((l) => ({ position: l.position, hash: l.hash })),
      skipped: parsed.length - fresh.length,
      head,
    };
  }

  private checkSourceEnd(end: number | undefined): void {
    const offset = this.current.sourceOffset;
    if (end === undefined || offset < end) return;
    // Re-read before the next attempt, so a repaired row is picked up.
    this.stale = true;
    throw new AuditError(
      'CHAIN_CORRUPT',
      `the head of chain '${this.current.chain}' (position ${this.current.position}) holds source offset ${offset}, at or beyond the source's end ${end}: its source_offset was edited; not skipping what follows`,
      true,
    );
  }

  private async resync(): Promise<void> {
    const stored = await loadHead(this.db, this.current.chain);
    if (!this.stale && (stored.position !== this.current.position || stored.hash !== this.current.hash)) {
      this.stale = true;
      throw new AuditError(
        'CHAIN_CONFLICT',
        `chain '${this.current.chain}' moved to position ${stored.position} under this writer (at ${this.current.position}): another writer owns it`,
      );
    }
    this.current = stored;
    this.stale = false;
  }
}

async function loadHead(db: Database, chain: string): Promise<WriterHead> {
  let stored;
  try {
    stored = await readHead(db, chain);
  } catch (err) {
    if (isAuditError(err)) throw err;
    throw new AuditError('STORE_FAILED', `reading the head of chain '${chain}' failed`, true, undefined, {
      cause: err,
    });
  }
  if (!stored) return { ...emptyHead(chain), sourceOffset: -1 };
  // A forged row at a huge position: positions after it would be rounded floats.
  if (!Number.isSafeInteger(stored.position))
    throw new AuditError(
      'CHAIN_CORRUPT',
      `the head of chain '${chain}' is at position ${stored.position}, beyond 2^53 - 1: a forged row`,
      true,
    );
  return { chain, position: stored.position, hash: stored.hash, sourceOffset: stored.source_offset };
}

function parseEntry(
  entry: AppendEntry,
  index: number,
  parse: ParseOptions,
): { record: AuditRecord; sourceOffset: number } {
  const offset = entry.sourceOffset ?? -1;
  if (!Number.isSafeInteger(offset) || offset < -1) {
    throw new AuditError(
      'INVALID_RECORD',
      `entries[${index}].sourceOffset must be a whole number ≥ 0`,
      false,
      `entries[${index}].sourceOffset`,
    );
  }
  try {
    return { record: parseAuditRecord(entry.record, parse), sourceOffset: offset };
  } catch (err) {
    if (isAuditError(err, 'INVALID_RECORD')) {
      const field = `entries[${index}].record.${err.field ?? ''}`;
      throw new AuditError('INVALID_RECORD', `${field}: ${err.message}`, false, field, { cause: err });
    }
    throw err;
  }
}
