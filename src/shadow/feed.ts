import type { ModelRegistry, ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { batchEnd, batchQuery, GROUPS_SQL, safeMark, WATERMARK_SQL } from './feed-sql.js';
import { ShadowProgress } from './progress.js';
import { SHADOW_SCORES_STRUCTURE } from './schema.js';
import type { ShadowScorer } from './scorer.js';
import { encodeShadowRows, readStoredBatch } from './stored-batch.js';

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

/** Sleeps `ms`, or until `wake` is called. */
function pause(ms: number): { done: Promise<void>; wake: () => void } {
  let wake: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { done, wake };
}

/** How long `stop` waits for a challenger stuck in a batch before leaving it behind. */
const STOP_WAIT_MS = 5_000;

interface Worker {
  challenger: ModelVersionRecord;
  stopping: boolean;
  degraded: boolean;
  wake: () => void;
  loop: Promise<void>;
}

/**
 * Scores stored predictions: each challenger keeps a cursor on `predictions.ingested_at`, reads
 * the committed rows past it (below the insert watermark, feed-sql.ts) in batches, stores their
 * shadow rows, then moves its cursor (`shadow_progress`). A crash between the two rescores a
 * batch, which `shadow_scores` collapses. Each challenger runs on its own, so a hanging one holds
 * back only itself; the collectors never wait for any.
 */
export function createShadowFeed(deps: ShadowFeedDeps): ShadowFeed {
  const maxRows = deps.maxRows ?? 20_000;
  const idleMs = deps.idleMs ?? 1_000;
  const progress = new ShadowProgress(deps.db);
  const workers = new Map<string, Worker>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  /** One batch; true when it was cut (more is waiting). */
  async function step(c: ModelVersionRecord): Promise<boolean> {
    const [mark] = await rows<{ now: number; oldest: number | null }>(deps.db, WATERMARK_SQL);
    const hi = safeMark(Number(mark?.now), mark?.oldest === null ? null : Number(mark?.oldest));
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
    const result = await deps.db.client.query({
      query: batchQuery(columns),
      query_params: { ...range, hi: end },
      format: 'TabSeparated',
    });
    const batch = readStoredBatch(Buffer.from(await result.text()), columns.length);
    if (batch.rows > 0) {
      const scored = await deps.scorer.scoreBatch(c, batch);
      const body = encodeShadowRows(batch, scored, Date.now());
      await deps.db.insertJsonEachRow('shadow_scores', body, {
        structure: SHADOW_SCORES_STRUCTURE,
        format: 'TabSeparated',
      });
    }
    await progress.save(c, end);
    return end < hi;
  }

  async function run(w: Worker): Promise<void> {
    let backoff = idleMs;
    while (!w.stopping) {
      let more = false;
      try {
        more = await step(w.challenger);
        w.degraded = false;
        backoff = idleMs;
      } catch (err) {
        w.degraded = true;
        deps.logger.warn(
          { model: w.challenger.model_id, version: w.challenger.model_version, err: errorMessage(err) },
          'shadow scoring failed; retrying',
        );
        backoff = Math.min(backoff * 2, 10_000);
      }
      if (more || w.stopping) continue;
      const p = pause(w.degraded ? backoff : idleMs);
      w.wake = p.wake;
      await p.done;
    }
  }

  function startWorker(c: ModelVersionRecord): void {
    const w: Worker = {
      challenger: c,
      stopping: false,
      degraded: false,
      wake: () => undefined,
      loop: Promise.resolve(),
    };
    w.loop = run(w);
    workers.set(workerKey(c), w);
  }

  function stopWorker(key: string, w: Worker): void {
    w.stopping = true;
    w.wake();
    workers.delete(key);
  }

  async function refresh(): Promise<void> {
    const challengers = await deps.registry.challengers();
    // A version moved out of `shadow` (or replaced) gives its session back.
    await deps.scorer.retain(challengers);
    if (stopped) return;
    const keep = new Set(challengers.map(workerKey));
    for (const [key, w] of workers) if (!keep.has(key)) stopWorker(key, w);
    for (const c of challengers) {
      const w = workers.get(workerKey(c));
      if (w) w.wake();
      else startWorker(c);
    }
  }

  const refreshQuietly = () =>
    refresh().catch((err: unknown) =>
      deps.logger.warn({ err: errorMessage(err) }, 'reading the challengers failed; keeping the last list'),
    );

  return {
    get degraded() {
      return [...workers.values()].some((w) => w.degraded);
    },
    refresh,
    async start() {
      stopped = false;
      await refreshQuietly();
      timer ??= setInterval(() => void refreshQuietly(), deps.refreshMs ?? 5_000);
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      const loops = [...workers.values()].map((w) => w.loop);
      for (const [key, w] of workers) stopWorker(key, w);
      const { done, wake } = pause(STOP_WAIT_MS);
      await Promise.race([Promise.allSettled(loops), done]);
      wake();
    },
  };
}

const workerKey = (c: ModelVersionRecord) => `${c.model_id}\0${c.model_version}\0${c.artifact_sha256}`;
