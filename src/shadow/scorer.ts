import {
  isInferenceError,
  type FeatureSpec,
  type InferenceCore,
  type OnnxModel,
} from '../inference/index.js';
import type { ArtifactStore, ModelVersionRecord } from '../models/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import type { ScoredRows, StoredBatch } from './stored-batch.js';
import type { ShadowMetrics } from './shadow-metrics.js';

/** Test and benchmark hooks; the service passes none. */
export interface ShadowHooks {
  /** Runs before a challenger scores a batch: a delay makes it slow, a throw makes it fail. */
  beforeScore?(challenger: { model: string; version: string }, rows: number): Promise<void> | void;
}

export interface ShadowScorerDeps {
  core: InferenceCore;
  artifacts: ArtifactStore;
  metrics: ShadowMetrics;
  logger: Logger;
  hooks?: ShadowHooks | undefined;
}

/** The challenger itself fails (its bytes missing, its stored metadata unreadable): every row of its batch fails with `code`. */
class ChallengerFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length <= 64 ? code : 'error';
}

/**
 * An error of the challenger itself, which trying again cannot mend: its rows fail. Anything else
 * (ClickHouse failing to read the artifact, the core closed at shutdown, the session's worker
 * thread stopped) passes; it is thrown to the feed, which retries the batch without moving its
 * cursor (the core loads a model whose worker stopped again).
 */
function isChallengerError(err: unknown): boolean {
  return (
    err instanceof ChallengerFailure ||
    (isInferenceError(err) && err.code !== 'MODEL_CLOSED' && err.code !== 'WORKER_FAILED')
  );
}

/** A challenger for one batch: its model, or its own error (every row of the batch then fails with it). */
export type LoadedChallenger =
  { model: OnnxModel; error?: undefined } | { model?: undefined; error: unknown };

/** The graph columns a batch is read with: none when the challenger cannot load (its rows all fail). */
export function graphColumns(loaded: LoadedChallenger): readonly FeatureSpec[] {
  return loaded.model?.metadata.columns ?? [];
}

/**
 * Scores predictions with challengers through the one core. A challenger's own failure (its
 * graph or metadata refused, a missing artifact, a refused row) becomes failed rows and counts,
 * so a failing challenger cannot stall the shadow feed, and never touches the collectors. Errors
 * that are not the challenger's are thrown, for the feed to retry.
 */
export class ShadowScorer {
  constructor(private readonly deps: ShadowScorerDeps) {}

  /** Unloads every challenger session not in `challengers` (de-staged, archived or replaced). */
  async retain(challengers: readonly ModelVersionRecord[]): Promise<void> {
    const keep = new Set(challengers.map(sessionKey));
    const stale = this.deps.core.keys.filter((k) => k.startsWith(SESSION_PREFIX) && !keep.has(k));
    await Promise.all(stale.map((k) => this.deps.core.unload(k)));
  }

  /**
   * The challenger's model, loaded once for a batch: the same model gives the columns the batch is
   * read with and scores it. Its own load error is returned; any other is thrown.
   */
  async load(c: ModelVersionRecord): Promise<LoadedChallenger> {
    try {
      return { model: await this.model(c) };
    } catch (err) {
      if (!isChallengerError(err)) throw err;
      return { error: err };
    }
  }

  private async model(c: ModelVersionRecord): Promise<OnnxModel> {
    const key = sessionKey(c);
    const loaded = await this.deps.core.get(key);
    // A model whose worker thread stopped stays cached until `load` replaces it: ask for it again.
    if (loaded && !loaded.workerFailed) return loaded;
    const stored = await this.deps.artifacts.get(c.model_id, c.model_version, c.artifact_sha256);
    if (!stored) throw new ChallengerFailure('ARTIFACT_MISSING', `no stored artifact ${c.artifact_sha256}`);
    return this.deps.core.load(key, { bytes: stored.bytes, metadata: storedMetadata(c) });
  }

  /**
   * The challenger's labels and scores for a stored batch read with `graphColumns(loaded)`; its
   * own failure or a refused row becomes a failed row (counted). Any other error is thrown.
   */
  async scoreBatch(c: ModelVersionRecord, loaded: LoadedChallenger, batch: StoredBatch): Promise<ScoredRows> {
    const labels = { model: c.model_id, version: c.model_version };
    const stop = this.deps.metrics.batchSeconds.startTimer();
    const failed = new Map<number, string>(batch.refused);
    let scored: ScoredRows = { labels: [], scores: [], failed };
    try {
      await this.beforeScore(labels, batch.rows);
      if (!loaded.model) throw loaded.error;
      const result = await loaded.model.scoreMatrix({
        values: batch.values,
        rows: batch.rows,
        layout: 'row-major',
      });
      for (const f of result.failures) if (!failed.has(f.row)) failed.set(f.row, f.reason);
      scored = { labels: result.labels, scores: result.scores, failed };
    } catch (err) {
      if (!isChallengerError(err)) throw err;
      const reason = errorCode(err);
      this.deps.logger.warn(
        { ...labels, rows: batch.rows, reason, err: errorMessage(err) },
        'challenger failed a batch',
      );
      for (let r = 0; r < batch.rows; r++) failed.set(r, reason);
    } finally {
      stop();
    }
    return scored;
  }

  /** The test hook; what it throws stands for the challenger's own failure. */
  private async beforeScore(labels: { model: string; version: string }, rows: number): Promise<void> {
    try {
      await this.deps.hooks?.beforeScore?.(labels, rows);
    } catch (err) {
      throw new ChallengerFailure(errorCode(err), errorMessage(err));
    }
  }

  /**
   * Counts a batch's scored and failed rows once they are stored and the cursor moved past them:
   * a batch whose store or cursor save failed is scored again, and counted then.
   */
  countStored(c: ModelVersionRecord, rows: number, failed: ReadonlyMap<number, string>): void {
    const labels = { model: c.model_id, version: c.model_version };
    const reasons = new Map<string, number>();
    for (const reason of failed.values()) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    this.deps.metrics.scored.inc(labels, rows - failed.size);
    for (const [reason, n] of reasons) this.deps.metrics.failures.inc({ ...labels, reason }, n);
  }
}

const SESSION_PREFIX = 'shadow:';

function sessionKey(c: ModelVersionRecord): string {
  return `${SESSION_PREFIX}${c.model_id}\0${c.model_version}\0${c.artifact_sha256}`;
}

/** The metadata registration stored for the challenger; unreadable, it is the challenger's failure. */
function storedMetadata(c: ModelVersionRecord): unknown {
  try {
    return JSON.parse(c.feature_schema) as unknown;
  } catch (err) {
    throw new ChallengerFailure(
      'METADATA_INVALID',
      `stored feature_schema is not JSON: ${errorMessage(err)}`,
    );
  }
}
