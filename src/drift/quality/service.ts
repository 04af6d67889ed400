/** Data quality over stored predictions: a report over any range and bucket, and the evaluator's hook. */
import type { Database } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import type { Bucket } from '../../platform/time/index.js';
import { DriftError } from '../errors.js';
import type { DriftSettings } from '../engine/settings.js';
import type { Reference } from '../engine/types.js';
import { defaultVersion, type DriftService } from '../service/drift-service.js';
import type { PolicyStore } from '../store/policies.js';
import type { VersionKey } from '../store/references.js';
import { windowQuality } from './checks.js';
import { readQualityCounts } from './read.js';
import { qualityReference } from './reference.js';
import { qualityPolicySchema, qualitySettings, type QualitySettings } from './settings.js';
import { writeQualityResults } from './store.js';
import type { QualityBucket } from './types.js';

export interface QualityServiceDeps {
  db: Database;
  drift: DriftService;
  policies: PolicyStore;
  logger: Logger;
}

export interface QualityReport {
  model_id: string;
  version: string;
  reference: { revision: number; set_at: string; rows: number };
  buckets: QualityBucket[];
}

export interface QualityRange {
  from: number;
  to: number;
  window: Bucket | undefined;
  /** Refuse (400) an answer of more cells (buckets × reference columns); undefined: no limit. */
  maxCells?: number | undefined;
}

export class QualityService {
  constructor(private readonly deps: QualityServiceDeps) {}

  async settings(modelId: string): Promise<QualitySettings> {
    const stored = await this.deps.policies.get(modelId);
    const parsed = qualityPolicySchema.safeParse(stored?.sections['quality'] ?? {});
    if (!parsed.success)
      this.deps.logger.warn({ model: modelId }, 'stored quality policy no longer validates; using defaults');
    return qualitySettings(parsed.success ? parsed.data : {});
  }

  /** The quality route: buckets of [from, to) that hold predictions, against the version's reference. */
  async report(
    request: QualityRange & { modelId: string; version?: string | undefined },
  ): Promise<QualityReport> {
    const { drift } = this.deps;
    const version = request.version ?? defaultVersion(await drift.versions(request.modelId));
    const key = await drift.knownVersion(request.modelId, version);
    const reference = await drift.requireReference(key);
    const buckets = await this.evaluate(key, reference, await drift.settings(request.modelId), {
      ...request,
      maxCells: drift.limits.maxResponseCells,
    });
    return {
      model_id: request.modelId,
      version,
      reference: {
        revision: reference.revision,
        set_at: new Date(reference.setAt).toISOString(),
        rows: reference.rows,
      },
      buckets,
    };
  }

  async evaluate(
    key: VersionKey,
    reference: Reference,
    drift: DriftSettings,
    range: QualityRange,
  ): Promise<QualityBucket[]> {
    const columns = qualityReference(reference, drift);
    const settings = await this.settings(key.modelId);
    const maxCells = range.maxCells;
    const windows = await readQualityCounts(this.deps.db, {
      key,
      revision: reference.revision,
      from: range.from,
      to: range.to,
      window: range.window,
      reference: columns,
      checkBuckets:
        maxCells === undefined ? undefined : (n) => checkCells(n, Math.max(1, columns.length), maxCells),
    });
    const buckets = windows.map((w) => windowQuality(w, columns, w.columns, settings));
    // Checked again on the answer itself: each bucket may add up to MAX_NEW_COLUMNS new columns,
    // which the count before the read could not know (one reference column, 10,000 buckets:
    // 10,000 cells counted, ~1M answered).
    if (maxCells !== undefined) checkAnswerCells(buckets, maxCells);
    return buckets;
  }

  /** The evaluator's hook: the same windows drift evaluates, stored before drift's so a failure retries both. */
  async evaluateAndStore(
    key: VersionKey,
    reference: Reference,
    drift: DriftSettings,
    range: { from: number; to: number; window: Bucket },
  ): Promise<QualityBucket[]> {
    const buckets = await this.evaluate(key, reference, drift, range);
    await writeQualityResults(this.deps.db, key, reference.revision, buckets);
    return buckets;
  }
}

function checkAnswerCells(buckets: readonly QualityBucket[], maxCells: number): void {
  const cells = buckets.reduce((n, b) => n + b.columns.length, 0);
  if (cells <= maxCells) return;
  throw new DriftError(
    'BAD_INPUT',
    `querystring: the answer would hold ${cells} cells (${buckets.length} buckets × their reference and new columns); at most ${maxCells} are allowed. ` +
      'Narrow the query: a larger bucket or a shorter from/to range',
  );
}

function checkCells(buckets: number, columns: number, maxCells: number): void {
  if (buckets * columns <= maxCells) return;
  throw new DriftError(
    'BAD_INPUT',
    `querystring: the answer would hold ${buckets} buckets × ${columns} columns = ${buckets * columns} cells; at most ${maxCells} are allowed. ` +
      'Narrow the query: a larger bucket or a shorter from/to range',
  );
}
