import type { ModelRegistry, ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { BATCH_SQL, batchEnd, batchParams, GROUPS_SQL, safeMark, WATERMARK_SQL } from './feed-sql.js';
import { ShadowProgress } from './progress.js';
import { SHADOW_SCORES_STRUCTURE } from './schema.js';
import type { ShadowScorer } from './scorer.js';
import { encodeShadowRows, readStoredBatch, type BatchRow } from './stored-batch.js';

export interface ShadowFeedDeps {
  db: Database;
  registry: ModelRegistry;
  scorer: ShadowScorer;
  logger: Logger;
  /** How often the list of challengers is read again. @default 5000 */
  refreshMs?: number | undefined;
  /** Most rows per batch (a single larger insert is still one batch). @default 20000 */
  maxRows?: number | undefined;
  /** Pause between passes that found nothing to score. @default 1000 */
  idleMs?: number | undefined;
}

export interface ShadowFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reads the challengers again now (a registration is picked up within `refreshMs` otherwise). */
  refresh(): Promise<void>;
  /** The last pass failed (ClickHouse unreachable or refusing); retried. */
  readonly degraded: boolean;
}

async function rows<T>(db: Database, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/**
 * Scores stored predictions: each challenger keeps a cursor on `predictions.ingested_at`, reads
 * the committed rows past it (below the insert watermark, feed-sql.ts) in batches, stores their
 * shadow rows, then moves its cursor (`shadow_progress`). A crash between the two rescores a
 * batch, which `shadow_scores` collapses. The collectors never wait for it.
 */
export function createShadowFeed(deps: ShadowFeedDeps): ShadowFeed {
  const maxRows = deps.maxRows ?? 20_000;
  const idleMs = deps.idleMs ?? 1_000;
  const refreshMs = deps.refreshMs ?? 5_000;
  const progress = new ShadowProgress(deps.db);
  let challengers: ModelVersionRecord[] = [];
  let refreshedAt = 0;
  let degraded = false;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  async function refresh(): Promise<void> {
    challengers = await deps.registry.challengers();
    refreshedAt = Date.now();
    // A version moved out of `shadow` (or replaced) gives its session back.
    await deps.scorer.retain(challengers);
    wake?.();
  }

  /** One batch of one challenger; true when it was full (more may be waiting). */
  async function step(c: ModelVersionRecord, hi: number): Promise<boolean> {
    const lo = await progress.cursor(c);
    if (lo >= hi) return false;
    const range = { model: c.model_id, version: c.model_version, lo, hi };
    const groups = (await rows<{ at: number; n: number }>(deps.db, GROUPS_SQL, range)).map((g) => ({
      at: Number(g.at),
      n: Number(g.n),
    }));
    if (groups.length === 0) {
      progress.skip(c, hi);
      return false;
    }
    const end = batchEnd(groups, hi, maxRows);
    const columns = await deps.scorer.columns(c);
    const [row] = await rows<BatchRow>(deps.db, BATCH_SQL, batchParams({ ...range, hi: end }, columns));
    if (row && Number(row.n) > 0) {
      const batch = readStoredBatch(row, columns.length);
      const scored = await deps.scorer.scoreBatch(c, batch);
      const body = encodeShadowRows(batch, scored, Date.now());
      await deps.db.insertJsonEachRow('shadow_scores', body, { structure: SHADOW_SCORES_STRUCTURE });
    }
    await progress.save(c, end);
    return end < hi;
  }

  async function pass(): Promise<boolean> {
    if (Date.now() - refreshedAt >= refreshMs) await refresh();
    if (challengers.length === 0) return false;
    const [mark] = await rows<{ now: number; oldest: number | null }>(deps.db, WATERMARK_SQL);
    const hi = safeMark(Number(mark?.now), mark?.oldest === null ? null : Number(mark?.oldest));
    let more = false;
    for (const c of challengers) {
      if (stopping) break;
      if (await step(c, hi)) more = true;
    }
    return more;
  }

  async function run(): Promise<void> {
    let backoff = idleMs;
    while (!stopping) {
      let more = false;
      try {
        more = await pass();
        degraded = false;
        backoff = idleMs;
      } catch (err) {
        degraded = true;
        deps.logger.warn({ err: errorMessage(err) }, 'shadow scoring pass failed; retrying');
        backoff = Math.min(backoff * 2, 10_000);
      }
      if (!more && !stopping)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, degraded ? backoff : idleMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      wake = undefined;
    }
  }

  return {
    get degraded() {
      return degraded;
    },
    refresh,
    async start() {
      stopping = false;
      loop ??= run();
      await Promise.resolve();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      loop = undefined;
    },
  };
}
