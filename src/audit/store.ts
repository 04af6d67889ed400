/** Typed access to `audit_events`: appends, heads, and chains streamed page by page. */
import type { Database } from '../platform/clickhouse/index.js';
import type { ChainHead, ChainLink } from './chain.js';
import { AuditError } from './errors.js';
import type { AuditRecord } from './record.js';

export const AUDIT_TABLE = 'audit_events';

/**
 * Positions read per query when streaming a chain. The embedded engine buffers a whole result,
 * so a chain is read in ranges of positions to keep memory bounded. @default 50_000
 */
export const DEFAULT_PAGE_POSITIONS = 50_000;

/** A stored row as verification sees it: the link plus the extracted query columns. */
export interface StoredRow extends ChainLink {
  kind: string;
  at_ms: number;
  principal: string;
  action: string;
  resource_type: string;
  resource_id: string;
  model_id: string;
  entity_id: string;
  outcome: string;
}

export interface StoredHead extends ChainHead {
  /** Source offset (e.g. the Kafka offset) of the head record, -1 when none was given. */
  source_offset: number;
  /** Time of the head record (ISO). */
  at: string;
}

/** One JSONEachRow line of `audit_events` for a linked record. */
export function rowLine(link: ChainLink, parsed: AuditRecord, sourceOffset = -1): string {
  return JSON.stringify({
    chain: link.chain,
    position: link.position,
    prev_hash: link.prev_hash,
    hash: link.hash,
    record: link.record,
    kind: parsed.kind,
    at: Date.parse(parsed.at),
    principal: parsed.principal,
    action: parsed.action,
    resource_type: parsed.resource_type,
    resource_id: parsed.resource_id,
    model_id: parsed.model_id ?? '',
    entity_id: parsed.entity_id ?? '',
    outcome: parsed.outcome,
    source_offset: sourceOffset,
  });
}

export async function insertRowLines(db: Database, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  try {
    await db.insertJsonEachRow(AUDIT_TABLE, Buffer.from(`${lines.join('\n')}\n`, 'utf8'));
  } catch (err) {
    throw new AuditError(
      'STORE_FAILED',
      `audit insert failed: ${err instanceof Error ? err.message : String(err)}`,
      true,
      undefined,
      { cause: err },
    );
  }
}

async function queryRows<T>(db: Database, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

interface HeadRow {
  chain: string;
  position: number;
  hash: string;
  source_offset: number;
  at_ms: number;
}

function toHead(row: HeadRow): StoredHead {
  return {
    chain: row.chain,
    position: Number(row.position),
    hash: row.hash,
    source_offset: Number(row.source_offset),
    at: new Date(Number(row.at_ms)).toISOString(),
  };
}

/**
 * The stored head of one chain, or undefined when the chain is empty. Refuses (CHAIN_CONFLICT)
 * when two different rows hold the head position: appending after a fork would hide it.
 */
export async function readHead(db: Database, chain: string): Promise<StoredHead | undefined> {
  const rows = await queryRows<HeadRow>(
    db,
    `SELECT chain, position, hash, source_offset, toUnixTimestamp64Milli(at) AS at_ms FROM ${AUDIT_TABLE}
     WHERE chain = {chain:String} ORDER BY position DESC LIMIT 2`,
    { chain },
  );
  const [top, next] = rows;
  if (!top) return undefined;
  // A copy that differs only in its source offset (not hashed) would decide what the writer skips.
  if (
    next &&
    Number(next.position) === Number(top.position) &&
    (next.hash !== top.hash || Number(next.source_offset) !== Number(top.source_offset))
  ) {
    throw new AuditError(
      'CHAIN_CONFLICT',
      `chain '${chain}' has two different rows at its head position ${top.position}`,
    );
  }
  return toHead(top);
}

const SAFE_POSITION = 'position <= {safe:UInt64}';

/**
 * The head of every chain (the digest's content), ordered by chain: its largest position up to
 * 2^53 - 1, as `listChains` takes it. A row forged beyond would be a rounded number that the
 * digest's reader refuses, failing the whole digest; verification names such a chain instead.
 * A chain with no row up to there has position 0 (no head).
 */
export async function readHeads(db: Database): Promise<StoredHead[]> {
  const rows = await queryRows<{ c: string; p: number; h: string; o: number; t: number }>(
    db,
    // Aliases differ from the column names: ClickHouse would otherwise read max(position) inside argMax.
    `SELECT chain AS c, maxIf(position, ${SAFE_POSITION}) AS p, argMaxIf(hash, position, ${SAFE_POSITION}) AS h,
            argMaxIf(source_offset, position, ${SAFE_POSITION}) AS o, toUnixTimestamp64Milli(argMaxIf(at, position, ${SAFE_POSITION})) AS t
     FROM ${AUDIT_TABLE} GROUP BY chain ORDER BY chain`,
    { safe: Number.MAX_SAFE_INTEGER },
  );
  return rows.map((r) => toHead({ chain: r.c, position: r.p, hash: r.h, source_offset: r.o, at_ms: r.t }));
}

/** Every row stored at one position of a chain (more than one = a retried write or tampering). */
export async function readAt(db: Database, chain: string, position: number): Promise<StoredRow[]> {
  return queryRows<StoredRow>(
    db,
    `${SELECT_STORED} WHERE chain = {chain:String} AND position = {position:UInt64} ORDER BY hash`,
    {
      chain,
      position,
    },
  ).then((rows) => rows.map(normalizeStored));
}

const SELECT_STORED = `SELECT chain, position, prev_hash, hash, record, kind, toUnixTimestamp64Milli(at) AS at_ms, principal, action,
  resource_type, resource_id, model_id, entity_id, outcome FROM ${AUDIT_TABLE}`;

function normalizeStored(row: StoredRow): StoredRow {
  return { ...row, position: Number(row.position), at_ms: Number(row.at_ms) };
}

export interface StreamChainOptions {
  /** @default DEFAULT_PAGE_POSITIONS */
  pagePositions?: number;
  /** First position read. @default 0 (so a forged row at position 0 is seen too) */
  from?: number;
  /** Stop after this position (e.g. the head when verification started). @default the stored maximum */
  upTo?: number;
}

/**
 * Every row of a chain in position order, read without FINAL so duplicates stay visible. Memory
 * holds one page of positions at a time, whatever the chain's length.
 */
export async function* streamChain(
  db: Database,
  chain: string,
  options: StreamChainOptions = {},
): AsyncGenerator<StoredRow> {
  const last = options.upTo ?? (await maxPosition(db, chain));
  const fetch = async (from: number, to: number) =>
    (
      await queryRows<StoredRow>(
        db,
        `${SELECT_STORED} WHERE chain = {chain:String} AND position >= {from:UInt64} AND position < {to:UInt64} ORDER BY position, hash`,
        { chain, from, to },
      )
    ).map(normalizeStored);
  const next = (from: number) => nextPosition(db, chain, from);
  yield* positionRanges(
    { fetch, next },
    options.from ?? 0,
    last,
    options.pagePositions ?? DEFAULT_PAGE_POSITIONS,
  );
}

/** Reads one range of positions, and finds the next stored position at or after one. */
export interface RangeReader<T> {
  fetch(from: number, to: number): Promise<T[]>;
  next(from: number): Promise<number | undefined>;
}

/**
 * Rows in position order, `page` positions per query: a range on the sorting key, so each query
 * reads only its rows and all rows of one position arrive together. An empty range jumps to the
 * next stored position, so a row forged at a huge position costs one query, not billions.
 * Memory: one page of positions (times the rows per position: one, unless retried or tampered).
 */
export async function* positionRanges<T>(
  reader: RangeReader<T>,
  start: number,
  last: number,
  page: number,
): AsyncGenerator<T> {
  let from = start;
  while (from <= last) {
    const rows = await reader.fetch(from, Math.min(from + page, last + 1));
    if (rows.length > 0) {
      yield* rows;
      from += page;
      continue;
    }
    const next = await reader.next(from);
    if (next === undefined || next > last) return;
    from = next;
  }
}

export async function nextPosition(db: Database, chain: string, from: number): Promise<number | undefined> {
  const [row] = await queryRows<{ n: number; p: number }>(
    db,
    `SELECT count() AS n, min(position) AS p FROM ${AUDIT_TABLE} WHERE chain = {chain:String} AND position >= {from:UInt64}`,
    { chain, from },
  );
  return row && Number(row.n) > 0 ? Number(row.p) : undefined;
}

export async function maxPosition(db: Database, chain: string): Promise<number> {
  const [row] = await queryRows<{ n: number; last: number }>(
    db,
    `SELECT count() AS n, max(position) AS last FROM ${AUDIT_TABLE} WHERE chain = {chain:String}`,
    { chain },
  );
  return row && Number(row.n) > 0 ? Number(row.last) : 0;
}

/** A stored chain as `listChains` sees it. */
export interface ChainSummary {
  chain: string;
  rows: number;
  /** The largest position up to 2^53 - 1 (0 when none). */
  last: number;
  /** The largest position, in digits, when it is above 2^53 - 1 (a forged row: no chain gets there). */
  beyond?: string;
  /** The source offset of the row at `last` (-1 when none was given). */
  head_offset: number;
}

/**
 * Every chain with its row count and largest position. Positions are UInt64: a row forged at
 * 2^53 or above would be rounded as a number (and `last + 1 === last`), so it is compared in SQL.
 */
export async function listChains(db: Database): Promise<ChainSummary[]> {
  const rows = await queryRows<{ c: string; n: number; p: number; top: string; o: number }>(
    db,
    `SELECT chain AS c, count() AS n, maxIf(position, position <= {safe:UInt64}) AS p, toString(max(position)) AS top,
            argMaxIf(source_offset, position, position <= {safe:UInt64}) AS o
     FROM ${AUDIT_TABLE} GROUP BY chain ORDER BY chain`,
    { safe: Number.MAX_SAFE_INTEGER },
  );
  return rows.map((r) => ({
    chain: r.c,
    rows: Number(r.n),
    last: Number(r.p),
    ...(BigInt(r.top) > BigInt(Number.MAX_SAFE_INTEGER) ? { beyond: r.top } : {}),
    head_offset: Number(r.o),
  }));
}
