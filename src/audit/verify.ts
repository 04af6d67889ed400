/**
 * Verification on rows streamed in position order (pure: no I/O). A chain is broken at the first
 * position whose row does not follow from the rows before it; everything after it is unproven.
 */
import { GENESIS_HASH, canonicalJson, chainHash } from './chain.js';
import type { StoredRow } from './store.js';

/** What verification reads of a row: the link, and whether its query columns match its record. */
export interface LinkRow {
  position: number;
  prev_hash: string;
  hash: string;
  record: string;
  /** The extracted columns (principal, at, …) equal the record's fields; computed in SQL when read. */
  columns_match: boolean;
  /** Offset of the source message (not hashed); -1 or absent when none was given. */
  source_offset?: number;
}

export interface VerifierOptions {
  /** Where to resume when retention deleted the chain's prefix. */
  anchor?: ChainAnchor;
  /**
   * Also require each record to be the JCS text of a JSON object (re-canonicalized in JavaScript,
   * ~10 µs a row). Off by default: any change to a record already changes its hash. @default false
   */
  checkCanonical?: boolean;
}

export type BreakReason =
  /** Two different rows at one position: a forged insertion, or a fork between writers. */
  | 'conflicting_rows'
  /** A position is missing: a deleted record. */
  | 'gap'
  /** A row at a position the chain cannot have (0, or before a retention anchor). */
  | 'unexpected_position'
  /** `prev_hash` is not the previous row's `hash`: a removed, inserted or reordered record. */
  | 'prev_hash_mismatch'
  /** `hash` is not SHA-256(prev_hash ‖ record): the record or the hash was changed. */
  | 'hash_mismatch'
  /** `record` is not the JCS text of a JSON object. */
  | 'record_not_canonical'
  /** An extracted query column (principal, at, …) no longer matches the hashed record. */
  | 'column_mismatch'
  /**
   * A row's source offset is not above the previous set one: an edited `source_offset` (not
   * hashed), which the chain writer reads to skip what it already chained.
   */
  | 'offset_not_rising'
  /** The head's source offset is at or beyond its partition's end: an edited `source_offset`. */
  | 'offset_beyond_end'
  /** A held digest's hash differs from the stored one: the chain was rewritten. */
  | 'digest_mismatch'
  /** The chain ends before a held digest's position: its tail was deleted. */
  | 'truncated'
  /** A retention anchor no proven `retention.delete` record backs: a forged anchor hiding a deleted prefix. */
  | 'anchor_unrecorded';

export interface BrokenLink {
  chain: string;
  position: number;
  reason: BreakReason;
  message: string;
}

/** Where a chain resumes after retention deleted its prefix: the last deleted link. */
export interface ChainAnchor {
  position: number;
  hash: string;
}

const COLUMNS = ['kind', 'principal', 'action', 'resource_type', 'resource_id', 'outcome'] as const;

export class ChainVerifier {
  private expected: number;
  private prevHash: string;
  private last: LinkRow | undefined;
  /** The last source offset set along the chain (-1 before any). */
  private offset = -1;
  private broken: BrokenLink | undefined;
  private count = 0;

  constructor(
    readonly chain: string,
    private readonly options: VerifierOptions = {},
  ) {
    this.expected = (options.anchor?.position ?? 0) + 1;
    this.prevHash = options.anchor?.hash ?? GENESIS_HASH;
  }

  get checked(): number {
    return this.count;
  }

  get firstBroken(): BrokenLink | undefined {
    return this.broken;
  }

  /** The last verified link (position 0 and the genesis hash before any). */
  get head(): ChainAnchor {
    return { position: this.expected - 1, hash: this.prevHash };
  }

  /** Checks the next row; false once the chain is broken (later rows prove nothing). */
  push(row: LinkRow): boolean {
    if (this.broken) return false;
    if (this.last && row.position === this.last.position) {
      // A retried insert leaves an identical copy until merges collapse it: harmless.
      return (
        sameRow(row, this.last) ||
        this.fail(row.position, 'conflicting_rows', 'two different rows hold this position')
      );
    }
    if (row.position < this.expected)
      return this.fail(
        row.position,
        'unexpected_position',
        `a row at position ${row.position}, expected ${this.expected}`,
      );
    if (row.position > this.expected) {
      return this.fail(this.expected, 'gap', `positions ${this.expected}..${row.position - 1} are missing`);
    }
    const problem = checkLink(row, this.prevHash, this.options.checkCanonical === true);
    if (problem) return this.fail(row.position, problem.reason, problem.message);
    const offset = row.source_offset ?? -1;
    if (offset >= 0 && offset <= this.offset)
      return this.fail(
        row.position,
        'offset_not_rising',
        `source offset ${offset} is not above the previous one (${this.offset})`,
      );
    if (offset >= 0) this.offset = offset;
    this.last = row;
    this.expected += 1;
    this.prevHash = row.hash;
    this.count += 1;
    return true;
  }

  private fail(position: number, reason: BreakReason, message: string): false {
    this.broken = { chain: this.chain, position, reason, message };
    return false;
  }
}

function checkLink(
  row: LinkRow,
  prevHash: string,
  canonical: boolean,
): { reason: BreakReason; message: string } | undefined {
  if (row.prev_hash !== prevHash)
    return {
      reason: 'prev_hash_mismatch',
      message: `prev_hash is not the hash of position ${row.position - 1}`,
    };
  if (chainHash(prevHash, row.record) !== row.hash)
    return { reason: 'hash_mismatch', message: 'hash is not SHA-256(prev_hash ‖ record)' };
  if (canonical && !isCanonicalObject(row.record))
    return { reason: 'record_not_canonical', message: 'record is not the JCS text of a JSON object' };
  return row.columns_match
    ? undefined
    : {
        reason: 'column_mismatch',
        message: 'a query column (principal, at, …) differs from the hashed record',
      };
}

function isCanonicalObject(record: string): boolean {
  try {
    const parsed: unknown = JSON.parse(record);
    return (
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      canonicalJson(parsed) === record
    );
  } catch {
    return false;
  }
}

/** The JavaScript twin of the SQL `columns_match` (see link-reader.ts): extracted columns equal the record's fields. */
export function columnsMatch(row: StoredRow): boolean {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(row.record) as Record<string, unknown>;
  } catch {
    return false;
  }
  const text = (key: string) => (typeof record[key] === 'string' ? record[key] : '');
  const at = Date.parse(text('at'));
  return (
    COLUMNS.every((name) => row[name] === text(name)) &&
    row.model_id === text('model_id') &&
    row.entity_id === text('entity_id') &&
    row.at_ms === at
  );
}

/**
 * A retried copy: the same in every column verification reads. `source_offset` too: it is not
 * hashed, and a copy of the head with a larger one made the writer skip what followed.
 */
function sameRow(a: LinkRow, b: LinkRow): boolean {
  return (
    a.prev_hash === b.prev_hash &&
    a.hash === b.hash &&
    a.record === b.record &&
    a.columns_match === b.columns_match &&
    (a.source_offset ?? -1) === (b.source_offset ?? -1)
  );
}

/** A chain head as published to `ml.audit-digests` and held outside modelwatch. */
export interface DigestEntry {
  chain: string;
  position: number;
  hash: string;
  /** When the head was read (ISO). */
  at: string;
}

/**
 * Checks one held digest entry against what is stored now: `storedAt` are the rows at the
 * entry's position, `last` the chain's largest stored position (0 when empty).
 */
export function checkDigestEntry(
  entry: DigestEntry,
  storedAt: readonly { hash: string }[],
  last: number,
): BrokenLink | undefined {
  const at = { chain: entry.chain, position: entry.position };
  if (last < entry.position) {
    return {
      ...at,
      position: last + 1,
      reason: 'truncated',
      message: `the chain ends at ${last}; a digest of ${entry.at} holds position ${entry.position}`,
    };
  }
  if (storedAt.length === 0)
    return {
      ...at,
      reason: 'digest_mismatch',
      message: `no row at the digest's position (digest of ${entry.at})`,
    };
  if (storedAt.some((row) => row.hash !== entry.hash)) {
    return {
      ...at,
      reason: 'digest_mismatch',
      message: `stored hash differs from the digest of ${entry.at}: the chain was rewritten up to here`,
    };
  }
  return undefined;
}
