/**
 * Retention (SPEC 8): predictions, labels (and their shadow scores) and audit records (the
 * chains and the collectors' `access_log` copy of access events) older than their configured age
 * are deleted, except what belongs to a model under legal hold. Every deletion is itself an audit
 * record (`retention.delete`), sent before the rows go. An audit chain loses only a prefix, never
 * its head, and only after that prefix verified; its anchor (position and hash of the last deleted
 * row) is stored first, so verification resumes there. The holds are read again right before each
 * deleting statement: a hold set while a run is in progress stops that run's deletions.
 */
import type { Database } from '../platform/clickhouse/index.js';
import type { Logger } from '../platform/observability/index.js';
import { backingRecords, readAnchorRecords, waitForAnchorRecord } from './anchor-records.js';
import { insertAnchor, readAnchors, tableExists } from './anchors.js';
import type { AuditRecorder } from './audit-log.js';
import type { LegalHolds } from './legal-holds.js';
import { AUDIT_TABLE, listChains, readAt } from './store.js';
import { verifyStore } from './verify-store.js';

export interface RetentionPolicy {
  /** Predictions (and their shadow scores) older than this by event time are deleted; undefined keeps them. */
  predictionsMs: number | undefined;
  /** Labels older than this by event time are deleted; undefined keeps them. */
  labelsMs: number | undefined;
  /** Audit records older than this (`at`) are deleted from the start of each chain, and from `access_log` by event time. */
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
  /** Rows deleted from `access_log` (the collectors' copy of the access events). */
  access_log: number;
  audit: ChainTrim[];
  /**
   * Chains not trimmed this run, and why: one that does not verify (deleting would erase the
   * evidence), a record not chained in time, a legal hold set during the run.
   */
  refused: { chain: string; reason: string }[];
}

const PRINCIPAL = 'retention';
const HELD_DURING_RUN = 'a legal hold set during the run covers records of its prefix';
const SYNC = { mutations_sync: '2' } as const;

async function count(db: Database, query: string, params: Record<string, unknown>): Promise<number> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  const [row] = await result.json<{ n: number | string }>();
  return Number(row?.n ?? 0);
}

type RetainedTable = 'predictions' | 'labels' | 'shadow_scores' | 'access_log';

/** The rows of `table` retention deletes: older than `{cutoff}`, of no model in `{held}`. */
function expiredRows(table: RetainedTable, held: readonly string[]): string {
  const expired = `timestamp < fromUnixTimestamp64Milli({cutoff:Int64}, 'UTC') AND model_id NOT IN {held:Array(String)}`;
  if (table !== 'labels' || held.length === 0) return expired;
  // A label naming no model is kept while a held model has a prediction with its id.
  return `${expired} AND NOT (model_id = '' AND prediction_id IN (SELECT prediction_id FROM predictions WHERE model_id IN {held:Array(String)}))`;
}

export class RetentionJob {
  constructor(private readonly deps: RetentionDeps) {}

  /** One run; once `signal` aborts it ends (rejecting) at its next step, not mid-deletion. */
  async run(now = Date.now(), signal?: AbortSignal): Promise<RetentionReport> {
    const held = await this.deps.holds.held();
    const { predictionsMs, labelsMs, auditMs } = this.deps.policy;
    const report: RetentionReport = {
      held_models: held,
      predictions: 0,
      labels: 0,
      shadow_scores: 0,
      access_log: 0,
      audit: [],
      refused: [],
    };
    const expire = (table: RetainedTable, ageMs: number) => {
      signal?.throwIfAborted();
      return this.deleteRows(table, now - ageMs, held);
    };
    if (predictionsMs !== undefined) {
      report.predictions = await expire('predictions', predictionsMs);
      report.shadow_scores = await expire('shadow_scores', predictionsMs);
    }
    if (labelsMs !== undefined) report.labels = await expire('labels', labelsMs);
    // The collectors' table (absent when only the audit tables are migrated).
    if (await tableExists(this.deps.db, 'access_log'))
      report.access_log = await expire('access_log', auditMs);
    await this.trimAudit(now - auditMs, held, report, signal);
    return report;
  }

  /**
   * Deletes old rows of models not held; the deletion is audited first (with the count and the
   * holds it counted with). Each deleting statement keeps those models and the ones held since:
   * a hold set after the record still wins, and the rows it kept are not reported as deleted.
   */
  private async deleteRows(
    table: RetainedTable,
    cutoff: number,
    counted: readonly string[],
  ): Promise<number> {
    const { db, copies } = this.deps;
    const n = await this.countExpired(table, cutoff, counted);
    if (n === 0) return 0;
    const copied = table === 'predictions' || table === 'labels' ? table : undefined;
    await this.recordDeletion(table, cutoff, n, counted, copied && copies?.tables[copied]);
    let held = counted;
    if (copied && copies) {
      held = await this.heldNow(held);
      await copies.remove(db, copied, expiredRows(table, held), { cutoff, held });
    }
    held = await this.heldNow(held);
    await db.client.command({
      query: `ALTER TABLE ${table} DELETE WHERE ${expiredRows(table, held)}`,
      query_params: { cutoff, held },
      clickhouse_settings: SYNC,
    });
    const deleted =
      held.length > counted.length
        ? Math.max(0, n - (await this.keptByLaterHolds(table, cutoff, counted)))
        : n;
    this.deps.logger.info(
      { table, rows: deleted, cutoff: new Date(cutoff).toISOString() },
      'retention deleted rows',
    );
    return deleted;
  }

  private async recordDeletion(
    table: RetainedTable,
    cutoff: number,
    rows: number,
    held: readonly string[],
    copyTables: readonly string[] | undefined,
  ): Promise<void> {
    await this.deps.recorder.change({
      principal: PRINCIPAL,
      action: 'retention.delete',
      resource_type: table,
      resource_id: table,
      details: {
        cutoff: new Date(cutoff).toISOString(),
        rows,
        held_models: [...held],
        ...(copyTables && { copies: [...copyTables] }),
      },
    });
  }

  /** `before` and the models held now: what a deleting statement keeps. */
  private async heldNow(before: readonly string[]): Promise<string[]> {
    return [...new Set([...before, ...(await this.deps.holds.held())])];
  }

  private countExpired(table: RetainedTable, cutoff: number, held: readonly string[]): Promise<number> {
    const where = expiredRows(table, held);
    return count(this.deps.db, `SELECT count() AS n FROM ${table} WHERE ${where}`, { cutoff, held });
  }

  /** Rows the record counted that a hold set during the run kept (logged: the record named them). */
  private async keptByLaterHolds(
    table: RetainedTable,
    cutoff: number,
    counted: readonly string[],
  ): Promise<number> {
    const kept = await this.countExpired(table, cutoff, counted);
    if (kept > 0)
      this.deps.logger.warn(
        { table, rows: kept },
        'retention: a legal hold set during the run kept rows its record counted',
      );
    return kept;
  }

  private async trimAudit(
    cutoff: number,
    held: readonly string[],
    report: RetentionReport,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { db } = this.deps;
    const anchors = await readAnchors(db);
    const pinned = pinnedPositions(anchors, await readAnchorRecords(db));
    for (const { chain, last } of await listChains(db)) {
      signal?.throwIfAborted();
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
        const trimmed = await this.trimChain(chain, { through, cutoff, signal }, report);
        if (trimmed) report.audit.push(trimmed);
      } else if (anchor) {
        // A run that stored its anchor but stopped before deleting: finish it.
        await this.deletePrefix(chain, anchor.position);
      }
    }
  }

  private async trimChain(
    chain: string,
    { through, cutoff, signal }: { through: number; cutoff: number; signal: AbortSignal | undefined },
    report: RetentionReport,
  ): Promise<ChainTrim | undefined> {
    const { db } = this.deps;
    const verified = await verifyStore(db, { chains: [chain], signal });
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
      { signal },
    );
    if (!recorded) {
      report.refused.push({ chain, reason: 'its retention.delete record was not chained in time' });
      this.deps.logger.warn({ chain, through }, 'retention: deletion record not chained yet; not trimmed');
      return undefined;
    }
    // The wait above (and the verification) can take long: a hold set meanwhile keeps the prefix.
    if (await this.heldInPrefix(chain, through)) {
      report.refused.push({ chain, reason: HELD_DURING_RUN });
      return undefined;
    }
    await insertAnchor(db, {
      chain,
      position: through,
      hash: row.hash,
      cutoff_ms: cutoff,
      deleted_rows: rows,
    });
    if (!(await this.deletePrefix(chain, through))) {
      report.refused.push({ chain, reason: HELD_DURING_RUN });
      return undefined;
    }
    this.deps.logger.info({ chain, through, rows }, 'retention trimmed an audit chain');
    return { chain, through_position: through, deleted_rows: rows };
  }

  /** Deletes the chain's records up to `through`; false (nothing deleted) when a held model's lie there. */
  private async deletePrefix(chain: string, through: number): Promise<boolean> {
    const params = { chain, through };
    const where = 'chain = {chain:String} AND position <= {through:UInt64}';
    if ((await count(this.deps.db, `SELECT count() AS n FROM ${AUDIT_TABLE} WHERE ${where}`, params)) === 0)
      return true;
    if (await this.heldInPrefix(chain, through)) return false;
    await this.deps.db.client.command({
      query: `ALTER TABLE ${AUDIT_TABLE} DELETE WHERE ${where}`,
      query_params: params,
      clickhouse_settings: SYNC,
    });
    return true;
  }

  /** Whether records of a model held now lie in the chain up to `through` (held since the run began). */
  private async heldInPrefix(chain: string, through: number): Promise<boolean> {
    const held = await this.deps.holds.held();
    if (held.length === 0) return false;
    const found = await count(
      this.deps.db,
      `SELECT count() AS n FROM ${AUDIT_TABLE}
       WHERE chain = {chain:String} AND position <= {through:UInt64} AND model_id != '' AND model_id IN {held:Array(String)}`,
      { chain, through, held },
    );
    if (found > 0)
      this.deps.logger.warn(
        { chain, through },
        'retention: a legal hold set during the run keeps an audit prefix',
      );
    return found > 0;
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
