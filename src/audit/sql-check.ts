/**
 * The auditor's check in ClickHouse SQL alone, kept here so the README's SQL is the SQL the tests
 * run. Each row is checked against the row before it in its chain; the first flagged row of a
 * chain is its first broken position (what `verifyStore` reports for the same tampering, except
 * the JSON-level checks: canonical text and extracted columns). A chain whose prefix retention
 * deleted starts after its latest anchor in `audit_anchors` (README, "Retention").
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { BreakReason } from './verify.js';

export const SQL_CHECK = `SELECT chain, multiIf(
         position = prev_position, 'conflicting_rows',
         position > prev_position + 1, 'gap',
         prev_hash != expected_prev, 'prev_hash_mismatch',
         'hash_mismatch') AS reason,
       if(position > prev_position + 1, prev_position + 1, position) AS broken_position
FROM (
  SELECT chain, position, prev_hash, hash,
         lower(hex(SHA256(concat(prev_hash, record)))) AS recomputed,
         lagInFrame(hash, 1, anchor_hash) OVER w AS expected_prev,
         lagInFrame(position, 1, anchor_position) OVER w AS prev_position
  FROM (
    SELECT DISTINCT e.chain AS chain, e.position AS position, e.prev_hash AS prev_hash, e.hash AS hash,
           e.record AS record, a.p AS anchor_position,
           if(a.c = '', repeat('0', 64), a.h) AS anchor_hash
    FROM audit_events AS e
    LEFT JOIN (SELECT chain AS c, max(through_position) AS p, argMax(through_hash, through_position) AS h
               FROM audit_anchors GROUP BY chain) AS a ON e.chain = a.c
    WHERE a.c = '' OR e.position > a.p
  )
  WINDOW w AS (PARTITION BY chain ORDER BY position, hash ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
WHERE position != prev_position + 1 OR prev_hash != expected_prev OR recomputed != hash
ORDER BY chain, broken_position
LIMIT 1 BY chain`;

export interface SqlCheckFinding {
  chain: string;
  position: number;
  reason: Extract<BreakReason, 'conflicting_rows' | 'gap' | 'prev_hash_mismatch' | 'hash_mismatch'>;
}

/** Runs `SQL_CHECK`: the first broken position of every broken chain (empty when all verify). */
export async function runSqlCheck(db: Database): Promise<SqlCheckFinding[]> {
  const result = await db.client.query({ query: SQL_CHECK, format: 'JSONEachRow' });
  const rows = await result.json<{
    chain: string;
    reason: SqlCheckFinding['reason'];
    broken_position: number;
  }>();
  return rows.map((r) => ({ chain: r.chain, position: Number(r.broken_position), reason: r.reason }));
}
