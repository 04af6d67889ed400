/**
 * Retention (SPEC 8): predictions, labels (and their shadow scores) and audit records older than
 * their configured age are deleted, except what belongs to a model under legal hold. Every
 * deletion is itself an audit record (`retention.delete`), sent before the rows go. An audit
 * chain loses only a prefix, never its head, and only after that prefix verified; its anchor
 * (position and hash of the last deleted row) is stored first, so verification resumes there.
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { Logger } from '../platform/observability/index.js';
import { backingRecords, readAnchorRecords, waitForAnchorRecord } from './anchor-records.js';
import { insertAnchor, readAnchors } from './anchors.js';
import type { AuditRecorder } from './audit-log.js';
import type { LegalHolds } from './legal-holds.js';
import { AUDIT_TABLE, listChains, readAt } from './store.js';
import { verifyStore } from './verify-store.js';

export interface RetentionPolicy {
  /** Predictions (and their shadow scores) older than this by event time are deleted; undefined keeps them. */
  predictionsMs: number | undefined;
  /** Labels older than this by event time are deleted; undefined keeps them. */
  labelsMs: number | undefined;
  /** Audit records older than this (`at`) are deleted from the start of each chain. */
  auditMs: number;
}

export interface RetentionDeps {
  db: Database;
  recorder: AuditRecorder;
  holds: LegalHolds;
  logger: Logger;
  policy: RetentionPolicy;
  /**
   * How long a trim waits for its `retention.delete` record to be chained (through Kafka and the
   * audit consumer) before storing the anchor; past it the chain is not trimmed this run.
   * @default 30_000
   */
  recordWaitMs?: number;
  /** Other capabilities' copies of predictions and labels, deleted with them (the metrics' joined tables). */
  copies?: RowCopies;
}

/** Tables holding copies of predictions or labels, and how to remove the copies of deleted rows. */
export interface RowCopies {
  readonly tables: Readonly<Record<'predictions' | 'labels', readonly string[]>>;
  /** Called before the rows `where` selects in `table` are deleted. */
  remove(
    db: Database,
    table: 'predictions' | 'labels',
    where: string,
    params: Record<string, unknown>,
  ): Promise<void>;
}

export interface ChainTrim {
  chain: string;
  through_position: number;
  deleted_rows: number;
}

export interface RetentionReport {
  held_models: string[];
  predictions: number;
  labels: number;
  shadow_scores: number;
  audit: ChainTrim[];
  /** Chains not trimmed because they do not verify: deleting would erase the evidence. */
  refused: { chain: string; reason: string }[];
}

const PRINCIPAL = 'retention';
const SYNC = { mutations_sync: '2' } as const;

async function count(db: Database, query: string, params: Record<string, unknown>): Promise<number> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: number | string }>();
  return Number(row?.n ?? 0);
}

export class RetentionJob {
  constructor(private readonly deps: RetentionDeps) {}

  async run(now = Date.now()): Promise<RetentionReport> {
    const held = await this.deps.holds.held();
    const { predictionsMs, labelsMs, auditMs } = this.deps.policy;
    const report: RetentionReport = {
      held_models: held,
      predictions: 0,
      labels: 0,
      shadow_scores: 0,
      audit: [],
      refused: [],
    };
    if (predictionsMs !== undefined) {
      const cutoff = now - predictionsMs;
      report.predictions = await this.deleteRows('predictions', 'timestamp', cutoff, held, '');
      report.shadow_scores = await this.deleteRows('shadow_scores', 'timestamp', cutoff, held, '');
    }
    if (labelsMs !== undefined) {
      // A label naming no model is kept while a held model has a prediction with its id.
      const unnamed =
        held.length > 0
          ? `AND NOT (model_id = '' AND prediction_id IN (SELECT prediction_id FROM predictions WHERE model_id IN {held:Array(String)}))`
          : '';
      report.labels = await this.deleteRows('labels', 'timestamp', now - labelsMs, held, unnamed);
    }
    await this.trimAudit(now - auditMs, held, report);
    return report;
  }

  /** Deletes old rows of models not held; the deletion is audited first (with the count). */
  private async deleteRows(
    table: 'predictions' | 'labels' | 'shadow_scores',
    column: string,
    cutoff: number,
    held: readonly string[],
    extra: string,
  ): Promise<number> {
    const where = `${column} < fromUnixTimestamp64Milli({cutoff:Int64}, 'UTC') AND model_id NOT IN {held:Array(String)} ${extra}`;
    const params = { cutoff, held };
    const n = await count(this.deps.db, `SELECT count() AS n FROM ${table} WHERE ${where}`, params);
    if (n === 0) return 0;
    const { copies } = this.deps;
    const copyTables = copies && table !== 'shadow_scores' ? copies.tables[table] : undefined;
    await this.deps.recorder.change({
      principal: PRINCIPAL,
      action: 'retention.delete',
      resource_type: table,
      resource_id: table,
      details: {
        cutoff: new Date(cutoff).toISOString(),
        rows: n,
        held_models: [...held],
        ...(copyTables && { copies: [...copyTables] }),
      },
    });
    if (copies && table !== 'shadow_scores') await copies.remove(this.deps.db, table, where, params);
    await this.deps.db.client.command({
      query: `ALTER TABLE ${table} DELETE WHERE ${where}`,
      query_params: params,
      clickhouse_settings: SYNC,
    });
    this.deps.logger.info(
      { table, rows: n, cutoff: new Date(cutoff).toISOString() },
      'retention deleted rows',
    );
    return n;
  }

  private async trimAudit(cutoff: number, held: readonly string[], report: RetentionReport): Promise<void> {
    const { db } = this.deps;
    const anchors = await readAnchors(db);
    const pinned = pinnedPositions(anchors, await readAnchorRecords(db));
    for (const { chain, last } of await listChains(db)) {
      const anchor = anchors.get(chain);
      // The first record that must stay: one not old enough, one of a held model, or the record
      // backing a chain's current anchor (verification needs it).
      const firstKept = await count(
        db,
        `SELECT minIf(position, at >= fromUnixTimestamp64Milli({cutoff:Int64}, 'UTC') OR (model_id != '' AND model_id IN {held:Array(String)})
                      OR position IN {pinned:Array(UInt64)}) AS n
         FROM ${AUDIT_TABLE} WHERE chain = {chain:String} AND position > {after:UInt64}`,
        { cutoff, held, chain, after: anchor?.position ?? 0, pinned: pinned.get(chain) ?? [] },
      );
      // Never the head: the chain writer resumes from the stored head.
      const through = Math.min(firstKept === 0 ? last : firstKept, last) - 1;
      if (through > (anchor?.position ?? 0)) {
        const trimmed = await this.trimChain(chain, through, cutoff, report);
        if (trimmed) report.audit.push(trimmed);
      } else if (anchor) {
        // A run that stored its anchor but stopped before deleting: finish it.
        await this.deletePrefix(chain, anchor.position);
      }
    }
  }

  private async trimChain(
    chain: string,
    through: number,
    cutoff: number,
    report: RetentionReport,
  ): Promise<ChainTrim | undefined> {
    const { db } = this.deps;
    const verified = await verifyStore(db, { chains: [chain] });
    if (!verified.ok) {
      const reason = verified.first_broken?.message ?? 'does not verify';
      report.refused.push({ chain, reason });
      this.deps.logger.error(
        { chain, first_broken: verified.first_broken },
        'retention: chain does not verify; not trimmed',
      );
      return undefined;
    }
    const [row] = await readAt(db, chain, through);
    if (!row) return undefined;
    const rows = await count(
      db,
      `SELECT uniqExact(position) AS n FROM ${AUDIT_TABLE} WHERE chain = {chain:String} AND position <= {through:UInt64}`,
      { chain, through },
    );
    await this.deps.recorder.change({
      principal: PRINCIPAL,
      action: 'retention.delete',
      resource_type: 'audit_chain',
      resource_id: chain,
      details: {
        through_position: through,
        through_hash: row.hash,
        cutoff: new Date(cutoff).toISOString(),
        rows,
      },
    });
    // The anchor is stored only once its record is chained, so verification can require it.
    const recorded = await waitForAnchorRecord(
      db,
      { chain, position: through, hash: row.hash },
      this.deps.recordWaitMs ?? 30_000,
    );
    if (!recorded) {
      report.refused.push({ chain, reason: 'its retention.delete record was not chained in time' });
      this.deps.logger.warn({ chain, through }, 'retention: deletion record not chained yet; not trimmed');
      return undefined;
    }
    await insertAnchor(db, {
      chain,
      position: through,
      hash: row.hash,
      cutoff_ms: cutoff,
      deleted_rows: rows,
    });
    await this.deletePrefix(chain, through);
    this.deps.logger.info({ chain, through, rows }, 'retention trimmed an audit chain');
    return { chain, through_position: through, deleted_rows: rows };
  }

  private async deletePrefix(chain: string, through: number): Promise<void> {
    const params = { chain, through };
    const where = 'chain = {chain:String} AND position <= {through:UInt64}';
    if ((await count(this.deps.db, `SELECT count() AS n FROM ${AUDIT_TABLE} WHERE ${where}`, params)) === 0)
      return;
    await this.deps.db.client.command({
      query: `ALTER TABLE ${AUDIT_TABLE} DELETE WHERE ${where}`,
      query_params: params,
      clickhouse_settings: SYNC,
    });
  }
}

/** Per chain, the positions of the records backing the current anchors: retention keeps them. */
function pinnedPositions(
  anchors: Parameters<typeof backingRecords>[0],
  records: Parameters<typeof backingRecords>[1],
): Map<string, number[]> {
  const pinned = new Map<string, number[]>();
  for (const found of backingRecords(anchors, records).values())
    for (const r of found) pinned.set(r.chain, [...(pinned.get(r.chain) ?? []), r.position]);
  return pinned;
}
