/**
 * Retention anchors (`audit_anchors`): where a chain resumes after its oldest records were
 * deleted. Verification starts after the latest anchor of each chain, expecting the first
 * remaining row to link to the anchor's hash (README, "Retention").
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { ChainAnchor } from './verify.js';

export const ANCHORS_TABLE = 'audit_anchors';

export interface StoredAnchor extends ChainAnchor {
  chain: string;
  cutoff_ms: number;
  deleted_rows: number;
}

/** Whether the database holds `table` (another capability's migrations may not have run). */
export async function tableExists(db: Database, table: string): Promise<boolean> {
  const exists = await db.client.query({
    query: `SELECT count() AS n FROM system.tables WHERE database = currentDatabase() AND name = {t:String}`,
    query_params: { t: table },
    format: 'JSONEachRow',
  });
  const [row] = await exists.json<{ n: number | string }>();
  return Number(row?.n ?? 0) > 0;
}

/** The latest anchor of every chain (an empty map before migration 101 ran). */
export async function readAnchors(db: Database): Promise<Map<string, ChainAnchor>> {
  if (!(await tableExists(db, ANCHORS_TABLE))) return new Map();
  const result = await db.client.query({
    query: `SELECT chain, max(through_position) AS position, argMax(through_hash, through_position) AS hash
            FROM ${ANCHORS_TABLE} GROUP BY chain`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<{ chain: string; position: number | string; hash: string }>();
  return new Map(rows.map((r) => [r.chain, { position: Number(r.position), hash: r.hash }]));
}

export async function insertAnchor(db: Database, anchor: StoredAnchor): Promise<void> {
  await db.client.insert({
    table: ANCHORS_TABLE,
    format: 'JSONEachRow',
    values: [
      {
        chain: anchor.chain,
        through_position: anchor.position,
        through_hash: anchor.hash,
        cutoff: anchor.cutoff_ms,
        deleted_rows: anchor.deleted_rows,
      },
    ],
  });
}
