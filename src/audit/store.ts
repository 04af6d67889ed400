/** Typed access to `audit_events`: appends, heads, and chains streamed page by page. */
import type { Database } from '../platform/clickhouse/index.js';
import type { ChainHead, ChainLink } from './chain.js';
import { AuditError } from './errors.js';
import type { AuditRecord } from './record.js';

export const AUDIT_TABLE = 'audit_events';

/**
 * Rows read per query when streaming a chain. The embedded engine buffers a whole result, so a
 * chain is read in pages to keep memory bounded. @default 50_000
 */
export const DEFAULT_PAGE_ROWS = 50_000;

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
  if (next && Number(next.position) === Number(top.position) && next.hash !== top.hash) {
    throw new AuditError(
      'CHAIN_CONFLICT',
      `chain '${chain}' has two different rows at its head position ${top.position}`,
    );
  }
  return toHead(top);
}

/** The head of every chain (the digest's content), ordered by chain. */
export async function readHeads(db: Database): Promise<StoredHead[]> {
  const rows = await queryRows<{ c: string; p: number; h: string; o: number; t: number }>(
    db,
    // Aliases differ from the column names: ClickHouse would otherwise read max(position) inside argMax.
    `SELECT chain AS c, max(position) AS p, argMax(hash, position) AS h, argMax(source_offset, position) AS o,
            toUnixTimestamp64Milli(argMax(at, position)) AS t
     FROM ${AUDIT_TABLE} GROUP BY chain ORDER BY chain`,
    {},
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
  /** @default DEFAULT_PAGE_ROWS */
  pageRows?: number;
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
  const page = options.pageRows ?? DEFAULT_PAGE_ROWS;
  const last = options.upTo ?? (await maxPosition(db, chain));
  const fetch = async (from: number, limit: number) =>
    (
      await queryRows<StoredRow>(
        db,
        `${SELECT_STORED} WHERE chain = {chain:String} AND position >= {from:UInt64} AND position <= {last:UInt64}
         ORDER BY position, hash LIMIT {limit:UInt32}`,
        { chain, from, last, limit },
      )
    ).map(normalizeStored);
  yield* positionPages(fetch, options.from ?? 0, page);
}

/**
 * Rows in position order, `page` rows per query, keyed on position (not on position ranges, so a
 * forged row at a huge position costs one query, not billions). A page never ends in the middle
 * of a position: the rows at its last position are read again with the next page, so two rows at
 * one position always arrive together (memory: a page, or all the rows at one position if more).
 */
export async function* positionPages<T extends { position: number }>(
  fetch: (from: number, limit: number) => Promise<T[]>,
  start: number,
  page: number,
): AsyncGenerator<T> {
  let from = start;
  let limit = page;
  for (;;) {
    const rows = await fetch(from, limit);
    const lastRow = rows[rows.length - 1];
    if (!lastRow || rows.length < limit) {
      yield* rows;
      return;
    }
    const cut = rows.findIndex((r) => r.position === lastRow.position);
    if (cut === 0) {
      // A whole page at one position: read it again with a larger page until it fits.
      limit *= 2;
      continue;
    }
    yield* rows.slice(0, cut);
    from = lastRow.position;
    limit = page;
  }
}

export async function maxPosition(db: Database, chain: string): Promise<number> {
  const [row] = await queryRows<{ n: number; last: number }>(
    db,
    `SELECT count() AS n, max(position) AS last FROM ${AUDIT_TABLE} WHERE chain = {chain:String}`,
    { chain },
  );
  return row && Number(row.n) > 0 ? Number(row.last) : 0;
}

/** Every chain with its row count and largest position. */
export async function listChains(db: Database): Promise<{ chain: string; rows: number; last: number }[]> {
  const rows = await queryRows<{ chain: string; rows: number; last: number }>(
    db,
    `SELECT chain, count() AS rows, max(position) AS last FROM ${AUDIT_TABLE} GROUP BY chain ORDER BY chain`,
    {},
  );
  return rows.map((r) => ({ chain: r.chain, rows: Number(r.rows), last: Number(r.last) }));
}
