/**
 * The auditor's check in ClickHouse SQL alone, kept here so the README's SQL is the SQL the tests
 * run. Each row is checked against the row before it in its chain; the first flagged row of a
 * chain is its first broken position (what `verifyStore` reports for the same tampering, except
 * the JSON-level checks: canonical text and extracted columns).
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
         lagInFrame(hash, 1, repeat('0', 64)) OVER w AS expected_prev,
         lagInFrame(position, 1, toUInt64(0)) OVER w AS prev_position
  FROM (SELECT DISTINCT chain, position, prev_hash, hash, record FROM audit_events)
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
