import type { InferenceCore, OnnxModel } from '../inference/index.js';
import type { ArtifactStore, ModelVersionRecord } from '../models/index.js';
import { errorMessage } from '../platform/errors.js';
import type { Logger } from '../platform/observability/index.js';
import type { ShadowInput } from './decode.js';
import { encodeInputs } from './encode.js';
import type { ShadowMetrics } from './shadow-metrics.js';

/** One row of `shadow_scores`. */
export interface ShadowRow {
  model_id: string;
  challenger_version: string;
  prediction_id: string;
  timestamp: number;
  production_version: string;
  production_prediction: string;
  production_score: number | null;
  label: string;
  score: number | null;
  failed: boolean;
  failure: string;
}

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
  /** Rows per call into the core. @default 10000 */
  batchRows?: number | undefined;
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
 * challenger cannot stall the shadow consumer, and never touches the collectors.
 */
export class ShadowScorer {
  private readonly batchRows: number;

  constructor(private readonly deps: ShadowScorerDeps) {
    this.batchRows = deps.batchRows ?? 10_000;
  }

  /** Every input of the challenger's model (except the challenger's own traffic), scored. */
  async score(
    challengers: readonly ModelVersionRecord[],
    inputs: readonly ShadowInput[],
  ): Promise<ShadowRow[]> {
    const out: ShadowRow[] = [];
    for (const challenger of challengers) {
      const mine = inputs.filter(
        (i) => i.model === challenger.model_id && i.version !== challenger.model_version,
      );
      for (let at = 0; at < mine.length; at += this.batchRows) {
        out.push(...(await this.scoreBatch(challenger, mine.slice(at, at + this.batchRows))));
      }
    }
    return out;
  }

  /** Unloads every challenger session not in `challengers` (de-staged, archived or replaced). */
  async retain(challengers: readonly ModelVersionRecord[]): Promise<void> {
    const keep = new Set(challengers.map(sessionKey));
    const stale = this.deps.core.keys.filter((k) => k.startsWith(SESSION_PREFIX) && !keep.has(k));
    await Promise.all(stale.map((k) => this.deps.core.unload(k)));
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

  private async scoreBatch(c: ModelVersionRecord, batch: readonly ShadowInput[]): Promise<ShadowRow[]> {
    const labels = { model: c.model_id, version: c.model_version };
    const stop = this.deps.metrics.batchSeconds.startTimer();
    const rows = batch.map((i) => baseRow(c, i));
    try {
      await this.deps.hooks?.beforeScore?.(labels, batch.length);
      const model = await this.model(c);
      const { values, refused } = encodeInputs(batch, model.metadata.columns);
      const result = await model.scoreMatrix({ values, rows: batch.length, layout: 'row-major' });
      const failed = new Map(result.failures.map((f) => [f.row, f.reason as string]));
      for (const [row, reason] of refused) failed.set(row, reason);
      rows.forEach((row, r) => {
        const reason = failed.get(r);
        if (reason !== undefined) return fail(row, reason);
        row.label = result.labels[r] ?? '';
        const score = result.scores[r] as number;
        row.score = Number.isFinite(score) ? score : null;
      });
    } catch (err) {
      const reason = errorCode(err);
      this.deps.logger.warn(
        { ...labels, rows: batch.length, reason, err: errorMessage(err) },
        'challenger failed a batch',
      );
      for (const row of rows) fail(row, reason);
    } finally {
      stop();
    }
    this.count(labels, rows);
    return rows;
  }

  private count(labels: { model: string; version: string }, rows: readonly ShadowRow[]): void {
    const reasons = new Map<string, number>();
    for (const row of rows) if (row.failed) reasons.set(row.failure, (reasons.get(row.failure) ?? 0) + 1);
    const failed = [...reasons.values()].reduce((a, b) => a + b, 0);
    this.deps.metrics.scored.inc(labels, rows.length - failed);
    for (const [reason, n] of reasons) this.deps.metrics.failures.inc({ ...labels, reason }, n);
  }
}

const SESSION_PREFIX = 'shadow:';

function sessionKey(c: ModelVersionRecord): string {
  return `${SESSION_PREFIX}${c.model_id}\0${c.model_version}\0${c.artifact_sha256}`;
}

function baseRow(c: ModelVersionRecord, i: ShadowInput): ShadowRow {
  return {
    model_id: c.model_id,
    challenger_version: c.model_version,
    prediction_id: i.id,
    timestamp: i.time,
    production_version: i.version,
    production_prediction: i.prediction,
    production_score: i.score,
    label: '',
    score: null,
    failed: false,
    failure: '',
  };
}

function fail(row: ShadowRow, reason: string): void {
  row.failed = true;
  row.failure = reason;
}
