import type { ModelRegistry, ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import { batchQuery, batchSettings, safeMark, WATERMARK_SQL, type RangeParams } from './feed-sql.js';
import { SlotLeases, type LeaseOptions } from './leases.js';
import { ShadowProgress } from './progress.js';
import { SHADOW_SCORES_STRUCTURE } from './schema.js';
import { graphColumns, type ShadowScorer } from './scorer.js';
import { encodeShadowRows, readStoredBatch } from './stored-batch.js';

export interface ShadowFeedDeps {
  db: Database;
  registry: ModelRegistry;
  scorer: ShadowScorer;
  logger: Logger;
  /** How often the list of challengers is read again. @default 5000 */
  refreshMs?: number | undefined;
  /**
   * Most rows per batch (a single larger insert is still one batch).
   * @default as many as fit in `maxBatchBytes`, at most 100,000
   */
  maxRows?: number | undefined;
  /** Memory one batch may hold, estimated per row from the challenger's feature count. @default 32 MiB */
  maxBatchBytes?: number | undefined;
  /** Pause between passes that found nothing to score. @default 1000 */
  idleMs?: number | undefined;
  /** Work sharing between instances (slots, lease length). @default 4 slots, 15 s leases */
  leases?: LeaseOptions | undefined;
}

export interface ShadowFeed {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Reads the challengers again now (a registration is picked up within `refreshMs` otherwise). */
  refresh(): Promise<void>;
  /**
   * A challenger's last pass failed (ClickHouse unreachable or refusing); retried. Not once it
   * failed the same way `STUCK_AFTER` passes in a row: then it is only that challenger's problem.
   */
  readonly degraded: boolean;
}

async function rows<T>(db: Database, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

/** The bytes of a batch query (it names its own binary FORMAT), with its size's parser limits. */
async function bytes(db: Database, query: string, params: RangeParams): Promise<Buffer> {
  const result = await db.client.exec({
    query,
    query_params: { ...params },
    clickhouse_settings: batchSettings(query),
  });
  const chunks: Buffer[] = [];
  for await (const chunk of result.stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** Slots grouped by their cursor, so slots scored together are read by one query. */
function byCursor(cursors: ReadonlyMap<number, number>): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const [slot, at] of cursors) groups.set(at, [...(groups.get(at) ?? []), slot]);
  return groups;
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

/**
 * A batch row's bytes in memory: its RowBinary as read (leading fields ~100 bytes, `ingested_at`,
 * the Float32 features), the core's row-major copy of the features, its outputs, and its shadow
 * row as written; rounded up.
 */
const rowBytes = (features: number) => 320 + 8 * features;
const MAX_BATCH_ROWS = 100_000;

/**
 * Rows per batch within `bytes`. Larger batches cost less per row, most of all when the feed
 * catches up behind the collectors: fewer batch queries and inserts, fewer `shadow_scores` parts
 * to merge (`bench shadow --rows 1000000`, 10 features, single runs: 20,000 rows a batch used
 * 15.1–16.1 CPU s end to end, 60,000 rows 13.3–14.2; README, "Benchmark").
 */
export function batchRows(bytes: number, features: number): number {
  return Math.max(1_000, Math.min(MAX_BATCH_ROWS, Math.floor(bytes / rowBytes(features))));
}

/**
 * Passes in a row failing with the same error after which a worker no longer holds readiness
 * down: a challenger the engine refuses every time (a query too large for it) would otherwise
 * take every instance out of its load balancer. An outage still shows in the collectors' check.
 */
const STUCK_AFTER = 5;

/** How long `stop` waits for a challenger stuck in a batch before leaving it behind. */
const STOP_WAIT_MS = 5_000;

interface Worker {
  challenger: ModelVersionRecord;
  /** The slots this instance holds, and when to renew their leases. */
  held: number[];
  leaseDue: number;
  stopping: boolean;
  /** The last pass failed: retried with backoff. */
  failing: boolean;
  /** Counted against readiness: failing, but not `STUCK_AFTER` times in a row the same way. */
  degraded: boolean;
  /** The last failure, and how many passes in a row failed with it. */
  error: string;
  repeats: number;
  wake: () => void;
  loop: Promise<void>;
}

/**
 * Scores stored predictions: for each challenger, this instance leases some of its slots
 * (leases.ts); each slot keeps a cursor on `predictions.ingested_at`. The worker reads the
 * committed rows past it (below the insert watermark, feed-sql.ts) in batches, stores their
 * shadow rows, then moves the cursor (progress.ts). A crash between the two rescores a batch,
 * which `shadow_scores` collapses. Each challenger runs on its own, so a hanging one holds back
 * only itself; the collectors never wait for any.
 */
export function createShadowFeed(deps: ShadowFeedDeps): ShadowFeed {
  const maxBatchBytes = deps.maxBatchBytes ?? 32 * 1024 * 1024;
  const idleMs = deps.idleMs ?? 1_000;
  const progress = new ShadowProgress(deps.db);
  const leases = new SlotLeases(deps.db, deps.leases);
  const workers = new Map<string, Worker>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  /** One batch of the slots whose cursor is `lo`; true when it was cut (more is waiting). */
  async function step(w: Worker, slots: number[], lo: number, hi: number): Promise<boolean> {
    if (lo >= hi) return false;
    const c = w.challenger;
    const all = slots.length === leases.slots;
    // One load for the batch: the model the batch is read for is the one that scores it.
    const loaded = await deps.scorer.load(c);
    const columns = graphColumns(loaded);
    const maxRows = deps.maxRows ?? batchRows(maxBatchBytes, columns.length);
    const range: RangeParams = {
      model: c.model_id,
      version: c.model_version,
      lo,
      hi,
      limit: maxRows,
      ...(all ? {} : { slots: leases.slots, held: slots }),
    };
    const batch = readStoredBatch(await bytes(deps.db, batchQuery(columns, !all), range), columns.length);
    if (batch.rows === 0) {
      progress.skip(c, slots, hi);
      return false;
    }
    // Fewer rows than the limit: the whole range was read. Otherwise the batch ends with a whole insert.
    const cut = batch.rows >= maxRows;
    const scored = await deps.scorer.scoreBatch(c, loaded, batch);
    // Stopping: the batch is left for the next start (its session may be closing under it).
    if (w.stopping) return false;
    await deps.db.insertJsonEachRow('shadow_scores', encodeShadowRows(batch, scored, Date.now()), {
      structure: SHADOW_SCORES_STRUCTURE,
      format: 'RowBinary',
    });
    await progress.save(c, slots, cut ? batch.lastIngestedAt : hi);
    // Counted once the cursor moved: a failed save rescores the batch, which must count once.
    deps.scorer.countStored(c, batch.rows, scored.failed);
    return cut;
  }

  /** Renews the worker's leases when due; a slot newly held has its cursor read again. */
  async function lease(w: Worker): Promise<void> {
    if (Date.now() < w.leaseDue) return;
    const held = await leases.maintain(w.challenger);
    progress.forget(
      w.challenger,
      held.filter((s) => !w.held.includes(s)),
    );
    w.held = held;
    w.leaseDue = Date.now() + leases.ttlMs / 3;
  }

  /** One pass over the worker's slots, below one watermark; true when a batch was cut. */
  async function pass(w: Worker): Promise<boolean> {
    await lease(w);
    if (w.held.length === 0) return false;
    const [mark] = await rows<{ now: number; oldest: number | null }>(deps.db, WATERMARK_SQL);
    const hi = safeMark(Number(mark?.now), mark?.oldest === null ? null : Number(mark?.oldest));
    let more = false;
    for (const [lo, slots] of byCursor(await progress.read(w.challenger, w.held)))
      more = (await step(w, slots, lo, hi)) || more;
    return more;
  }

  /** Counts a failed pass: against readiness until the same error repeats `STUCK_AFTER` times. */
  function failed(w: Worker, err: unknown): void {
    const message = errorMessage(err);
    w.repeats = w.failing && message === w.error ? w.repeats + 1 : 1;
    w.failing = true;
    w.error = message;
    w.degraded = w.repeats < STUCK_AFTER;
    const fields = { model: w.challenger.model_id, version: w.challenger.model_version, err: message };
    if (w.repeats === STUCK_AFTER)
      deps.logger.error(
        { ...fields, repeats: w.repeats },
        'shadow scoring fails the same way every pass; still retried, no longer counted in readiness',
      );
    else deps.logger.warn(fields, 'shadow scoring failed; retrying');
  }

  async function run(w: Worker): Promise<void> {
    let backoff = idleMs;
    while (!w.stopping) {
      let more = false;
      try {
        more = await pass(w);
        Object.assign(w, { failing: false, degraded: false, error: '', repeats: 0 });
        backoff = idleMs;
      } catch (err) {
        failed(w, err);
        backoff = Math.min(backoff * 2, 10_000);
      }
      if (more || w.stopping) continue;
      const p = pause(w.failing ? backoff : idleMs);
      w.wake = p.wake;
      await p.done;
    }
    // Another instance takes the slots over at once instead of after the leases expire.
    await leases
      .release(w.challenger)
      .catch((err: unknown) =>
        deps.logger.warn({ err: errorMessage(err) }, 'releasing shadow leases failed; they expire'),
      );
  }

  function startWorker(c: ModelVersionRecord): void {
    const w: Worker = {
      challenger: c,
      held: [],
      leaseDue: 0,
      stopping: false,
      failing: false,
      degraded: false,
      error: '',
      repeats: 0,
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
