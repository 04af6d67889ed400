/**
 * Each retention anchor must be backed by its `retention.delete` record: the change record the
 * retention job chained before it stored the anchor (`resource_type` `audit_chain`, `resource_id`
 * the trimmed chain, `details.through_position` and `details.through_hash` the anchor's). Without
 * this check an anchor row forged together with a deleted prefix would look like retention.
 * README, "Retention".
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../platform/clickhouse/index.js';
import { ANCHORS_TABLE } from './anchors.js';
import { AUDIT_TABLE } from './store.js';
import type { BrokenLink, ChainAnchor } from './verify.js';

/** Where a `retention.delete` record of an audit chain is, and the anchor it records. */
export interface AnchorRecord {
  /** The chain and position holding the record. */
  chain: string;
  position: number;
  /** The trimmed chain, and its anchor as recorded. */
  anchored_chain: string;
  through_position: number;
  through_hash: string;
}

const RECORD_FILTER = `kind = 'change' AND action = 'retention.delete' AND resource_type = 'audit_chain'`;

/** Every stored `retention.delete` record of an audit chain (few: one per chain per trimming run). */
export async function readAnchorRecords(db: Database): Promise<AnchorRecord[]> {
  // The fields come from the hashed record text; resource_id is a query column verification
  // checks against the record (column_mismatch).
  const result = await db.client.query({
    query: `SELECT DISTINCT chain, position, resource_id AS anchored_chain,
                   JSONExtractUInt(record, 'details', 'through_position') AS through_position,
                   JSONExtractString(record, 'details', 'through_hash') AS through_hash
            FROM ${AUDIT_TABLE} WHERE ${RECORD_FILTER}`,
    format: 'JSONEachRow',
  });
  const rows = await result.json<AnchorRecord>();
  return rows.map((r) => ({
    ...r,
    position: Number(r.position),
    through_position: Number(r.through_position),
  }));
}

/** The records that back `anchors`, by anchored chain. */
export function backingRecords(
  anchors: ReadonlyMap<string, ChainAnchor>,
  records: readonly AnchorRecord[],
): Map<string, AnchorRecord[]> {
  const out = new Map<string, AnchorRecord[]>();
  for (const r of records) {
    const anchor = anchors.get(r.anchored_chain);
    if (!anchor || anchor.position !== r.through_position || anchor.hash !== r.through_hash) continue;
    out.set(r.anchored_chain, [...(out.get(r.anchored_chain) ?? []), r]);
  }
  return out;
}

/**
 * Whether the row at `position` of `chain` was proven by this verification: true or false when the
 * chain was verified, undefined when it was not (verification limited to other chains).
 */
export type ProvenAt = (chain: string, position: number) => boolean | undefined;

/**
 * An `anchor_unrecorded` break for every anchor with no backing record, or whose every backing
 * record sits where its own chain is not proven. A record in a chain this run did not verify
 * counts as backing (verifying every chain proves it).
 */
export function checkAnchorRecords(
  anchors: ReadonlyMap<string, ChainAnchor>,
  records: readonly AnchorRecord[],
  proven: ProvenAt,
): BrokenLink[] {
  const backing = backingRecords(anchors, records);
  const broken: BrokenLink[] = [];
  for (const [chain, anchor] of anchors) {
    const found = backing.get(chain) ?? [];
    if (found.some((r) => proven(r.chain, r.position) !== false)) continue;
    const where = found.map((r) => `${r.chain}/${r.position}`).join(', ');
    broken.push({
      chain,
      position: anchor.position,
      reason: 'anchor_unrecorded',
      message:
        found.length === 0
          ? `the retention anchor through position ${anchor.position} has no retention.delete record`
          : `the retention anchor through position ${anchor.position} is recorded only where its chain does not verify (${where})`,
    });
  }
  return broken;
}

/**
 * Waits until the record of the anchor `(chain, through, hash)` is stored; false after `timeoutMs`.
 * Rejects once `signal` aborts (shutdown does not wait out the timeout).
 */
export async function waitForAnchorRecord(
  db: Database,
  anchored: { chain: string } & ChainAnchor,
  timeoutMs: number,
  { pollMs = 200, signal }: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const result = await db.client.query({
      query: `SELECT count() AS n FROM ${AUDIT_TABLE}
              WHERE ${RECORD_FILTER} AND resource_id = {chain:String}
                AND JSONExtractUInt(record, 'details', 'through_position') = {through:UInt64}
                AND JSONExtractString(record, 'details', 'through_hash') = {hash:String}`,
      query_params: { chain: anchored.chain, through: anchored.position, hash: anchored.hash },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number | string }>();
    if (Number(row?.n ?? 0) > 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(pollMs, undefined, { signal });
  }
}

/**
 * The same check with SQL alone: every chain's latest anchor that no `retention.delete` record
 * matches (no row: every anchor is recorded). It does not check that the record's own chain
 * verifies; `SQL_CHECK` does that.
 */
export const ANCHOR_RECORD_SQL_CHECK = `SELECT a.chain AS chain, a.p AS position
FROM (SELECT chain, max(through_position) AS p, argMax(through_hash, through_position) AS h
      FROM ${ANCHORS_TABLE} GROUP BY chain) AS a
LEFT JOIN (SELECT resource_id AS c, JSONExtractUInt(record, 'details', 'through_position') AS p,
                  JSONExtractString(record, 'details', 'through_hash') AS h, 1 AS found
           FROM ${AUDIT_TABLE} WHERE ${RECORD_FILTER}) AS r
  ON a.chain = r.c AND a.p = r.p AND a.h = r.h
WHERE r.found = 0
ORDER BY chain`;

export async function runAnchorRecordSqlCheck(db: Database): Promise<{ chain: string; position: number }[]> {
  const result = await db.client.query({ query: ANCHOR_RECORD_SQL_CHECK, format: 'JSONEachRow' });
  const rows = await result.json<{ chain: string; position: number | string }>();
  return rows.map((r) => ({ chain: r.chain, position: Number(r.position) }));
}
