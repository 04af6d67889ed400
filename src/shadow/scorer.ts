import type { FeatureSpec, InferenceCore, OnnxModel } from '../inference/index.js';
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

/** A stored challenger is missing its bytes: a failure of every row it should score. */
class ChallengerUnavailable extends Error {
  readonly code = 'ARTIFACT_MISSING';
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length <= 64 ? code : 'error';
}

/**
 * Scores predictions with challengers through the one core. A challenger's failure (a throw, a
 * missing artifact, a refused row) becomes failed rows and counts; it never throws, so a failing
 * challenger cannot stall the shadow feed, and never touches the collectors.
 */
export class ShadowScorer {
  constructor(private readonly deps: ShadowScorerDeps) {}

  /** Unloads every challenger session not in `challengers` (de-staged, archived or replaced). */
  async retain(challengers: readonly ModelVersionRecord[]): Promise<void> {
    const keep = new Set(challengers.map(sessionKey));
    const stale = this.deps.core.keys.filter((k) => k.startsWith(SESSION_PREFIX) && !keep.has(k));
    await Promise.all(stale.map((k) => this.deps.core.unload(k)));
  }

  /** The challenger's graph columns, or none when it cannot load (its batch then fails whole). */
  async columns(c: ModelVersionRecord): Promise<readonly FeatureSpec[]> {
    try {
      return (await this.model(c)).metadata.columns;
    } catch {
      return [];
    }
  }

  private async model(c: ModelVersionRecord): Promise<OnnxModel> {
    const key = sessionKey(c);
    const loaded = this.deps.core.get(key);
    if (loaded) return loaded;
    const stored = await this.deps.artifacts.get(c.model_id, c.model_version, c.artifact_sha256);
    if (!stored) throw new ChallengerUnavailable(`no stored artifact ${c.artifact_sha256}`);
    return this.deps.core.load(key, {
      bytes: stored.bytes,
      metadata: JSON.parse(c.feature_schema) as unknown,
    });
  }

  /**
   * The challenger's labels and scores for a stored batch; a throw, a missing artifact or a
   * refused row becomes a failed row (counted), never an exception.
   */
  async scoreBatch(c: ModelVersionRecord, batch: StoredBatch): Promise<ScoredRows> {
    const labels = { model: c.model_id, version: c.model_version };
    const stop = this.deps.metrics.batchSeconds.startTimer();
    const failed = new Map<number, string>(batch.refused);
    let scored: ScoredRows = { labels: [], scores: [], failed };
    try {
      await this.deps.hooks?.beforeScore?.(labels, batch.rows);
      const model = await this.model(c);
      const result = await model.scoreMatrix({ values: batch.values, rows: batch.rows, layout: 'row-major' });
      for (const f of result.failures) if (!failed.has(f.row)) failed.set(f.row, f.reason);
      scored = { labels: result.labels, scores: result.scores, failed };
    } catch (err) {
      const reason = errorCode(err);
      this.deps.logger.warn(
        { ...labels, rows: batch.rows, reason, err: errorMessage(err) },
        'challenger failed a batch',
      );
      for (let r = 0; r < batch.rows; r++) failed.set(r, reason);
    } finally {
      stop();
    }
    this.count(labels, batch.rows, failed);
    return scored;
  }

  private count(
    labels: { model: string; version: string },
    rows: number,
    failed: ReadonlyMap<number, string>,
  ): void {
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
