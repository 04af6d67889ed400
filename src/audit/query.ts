/**
 * Compliance queries: filtered audit rows in time order, read page by page with a keyset on
 * (at, chain, position), so millions of rows stream with one page in memory and the next page is
 * only read when the consumer asks for it (backpressure through the async iterator).
 */
import { z } from 'zod';
import { wellFormed } from './bounded-json.js';
import type { Database } from '../platform/clickhouse/index.js';
import { parseTime } from '../platform/time/index.js';
import { AuditError } from './errors.js';
import { MAX_ID_LENGTH } from './record.js';
import { AUDIT_TABLE } from './store.js';

/** Rows per query page. @default 10_000 */
export const DEFAULT_QUERY_PAGE = 10_000;

const filterText = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((s) => wellFormed(s), 'holds a lone surrogate');

/** The strict parser of every route: an impossible day, hour or offset is refused, never rolled over. */
const filterTime = z.union([z.string().max(40), z.number()]).transform((value, ctx) => {
  const ms = parseTime(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 time or epoch milliseconds in 1900-2299' });
    return z.NEVER;
  }
  return ms;
});

export const auditQuerySchema = z
  .strictObject({
    principal: filterText.optional(),
    entity_id: filterText.optional(),
    model: filterText.optional(),
    action: z.string().min(1).max(600).optional(),
    /** Inclusive, epoch ms after parsing. */
    from: filterTime.optional(),
    /** Exclusive, epoch ms after parsing. */
    to: filterTime.optional(),
  })
  .superRefine((q, ctx) => {
    if (q.from !== undefined && q.to !== undefined && q.from > q.to)
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must not be after to' });
  });

export type AuditQuery = z.output<typeof auditQuerySchema>;

export function parseAuditQuery(input: unknown): AuditQuery {
  const result = auditQuerySchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'query';
  throw new AuditError('INVALID_QUERY', `${field} ${issue?.message ?? 'is invalid'}`, false, field);
}

/** A row of a compliance export: where it sits in its chain, and the parsed record. */
export interface AuditEventRow {
  chain: string;
  position: number;
  prev_hash: string;
  hash: string;
  record: Record<string, unknown>;
}

interface PageRow {
  chain: string;
  position: number;
  prev_hash: string;
  hash: string;
  record: string;
  at_ms: number;
}

export function whereClause(query: AuditQuery): { sql: string; params: Record<string, unknown> } {
  const parts: string[] = [];
  const params: Record<string, unknown> = {};
  const add = (sql: string, name: string, value: unknown) => {
    if (value === undefined) return;
    parts.push(sql);
    params[name] = value;
  };
  add('principal = {principal:String}', 'principal', query.principal);
  add('entity_id = {entity_id:String}', 'entity_id', query.entity_id);
  add('model_id = {model:String}', 'model', query.model);
  add('action = {action:String}', 'action', query.action);
  add(`at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`, 'from', query.from);
  add(`at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`, 'to', query.to);
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}

/**
 * Pages of matching rows, oldest first. A retried copy of a row (identical in every field) is
 * returned once. A fork or forgery (a second, different row at one position, `conflicting_rows`
 * in verification) is its own row: each of the two is exported where its time puts it, and only
 * if it matches the filter.
 */
export async function* queryAuditEvents(
  db: Database,
  query: AuditQuery,
  pageSize = DEFAULT_QUERY_PAGE,
): AsyncGenerator<AuditEventRow[]> {
  const where = whereClause(query);
  let after: PageRow | undefined;
  for (;;) {
    const rows = await readPage(db, where, after, pageSize);
    // The first `pageSize` rows are the next ones in order; a row past their last key is a
    // conflicting row with a later time, read again on the page where that time puts it.
    const last = rows[pageSize - 1];
    const page = last ? rows.slice(0, endOfKey(rows, pageSize - 1)) : rows;
    if (page.length === 0) return;
    yield withoutRetriedCopies(page).map((r) => ({
      chain: r.chain,
      position: Number(r.position),
      prev_hash: r.prev_hash,
      hash: r.hash,
      record: JSON.parse(r.record) as Record<string, unknown>,
    }));
    if (!last) return;
    after = last;
  }
}

/**
 * The matching rows after `after` whose (chain, position) is among the next `pageSize` matching
 * rows', sorted. Those are the next `pageSize` rows, then any row at one of their positions with
 * a later time (a conflicting row), which belongs to a later page.
 */
async function readPage(
  db: Database,
  where: { sql: string; params: Record<string, unknown> },
  after: PageRow | undefined,
  pageSize: number,
): Promise<PageRow[]> {
  // The plain `at >=` beside the tuple lets the minmax index on `at` skip granules already read.
  const keyset = after
    ? `AND at >= fromUnixTimestamp64Milli({k_at:Int64}, 'UTC')
       AND (at, chain, position) > (fromUnixTimestamp64Milli({k_at:Int64}, 'UTC'), {k_chain:String}, {k_pos:UInt64})`
    : '';
  const keyParams = after ? { k_at: after.at_ms, k_chain: after.chain, k_pos: after.position } : {};
  // The page's keys are chosen on the small columns first, then only those rows' records are read
  // (by the sorting key): sorting whole rows made the engine hold every remaining record per page
  // (+298 MB of service RSS for a 100k-row export; test/integration/audit-export-rss.test.ts).
  // The outer query repeats the filter and the keyset: a position's other rows may match neither.
  const result = await db.client.query({
    query: `SELECT chain, position, prev_hash, hash, record, toUnixTimestamp64Milli(at) AS at_ms FROM ${AUDIT_TABLE}
            WHERE (chain, position) IN (
              SELECT chain, position FROM ${AUDIT_TABLE}
              WHERE ${where.sql} ${keyset}
              ORDER BY at, chain, position LIMIT {page:UInt32})
              AND ${where.sql} ${keyset}
            ORDER BY at, chain, position, hash, prev_hash, record`,
    query_params: { ...where.params, ...keyParams, page: pageSize },
    format: 'JSONEachRow',
  });
  return result.json<PageRow>();
}

/** The index after the last row sharing row `i`'s (at, chain, position): a page never splits a key. */
function endOfKey(rows: readonly PageRow[], i: number): number {
  let end = i + 1;
  while (end < rows.length && sameKey(rows[end], rows[i])) end++;
  return end;
}

/** Rows identical to the one before (sorted on every field, so copies are neighbours) dropped. */
function withoutRetriedCopies(rows: readonly PageRow[]): PageRow[] {
  // (LIMIT 1 BY in SQL would do it too, but it stops ClickHouse's top-N read: measured 2.4 s
  // a page over 1M rows.)
  return rows.filter((r, i) => !sameRow(r, rows[i - 1]));
}

function sameRow(a: PageRow, b: PageRow | undefined): boolean {
  return sameKey(a, b) && a.hash === b?.hash && a.prev_hash === b.prev_hash && a.record === b.record;
}

/** Same (at, chain, position); the engine sends 64-bit integers as strings. */
function sameKey(a: PageRow | undefined, b: PageRow | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    String(a.at_ms) === String(b.at_ms) &&
    a.chain === b.chain &&
    String(a.position) === String(b.position)
  );
}
