/** Drift over stored predictions: references per model version, reports over any range and bucket. */
import { randomInt } from 'node:crypto';
import type { ModelRegistry, ModelVersionRecord } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import type { ColumnKind, MethodOption } from '../statistics/index.js';
import { DriftError } from '../errors.js';
import { evaluateWindowOn, planColumns, type ColumnPlan } from '../engine/evaluate.js';
import { referenceFromRaw } from '../engine/in-memory.js';
import { RowError, SampleBuilder, shortName } from '../engine/samples.js';
import { driftPolicySchema, driftSettings, type DriftSettings } from '../engine/settings.js';
import type {
  ColumnRole,
  DriftBucket,
  DriftReport,
  Reference,
  ReferenceInfo,
  ValueType,
} from '../engine/types.js';
import type { Bucket } from '../../platform/time/index.js';
import { sampleRange, type RangeColumns } from '../store/range-sample.js';
import {
  countPredictions,
  currentRevision,
  readReference,
  writeRawColumns,
  writeSummary,
  type VersionKey,
} from '../store/references.js';
import type { PolicyStore } from '../store/policies.js';
import { readWindows } from '../store/windows.js';
import type { WalkPool } from '../walks/walk-pool.js';
import { inSharedMemory } from '../walks/shared.js';

export interface DriftServiceDeps {
  db: Database;
  models: ModelRegistry;
  policies: PolicyStore;
  logger: Logger;
  /** References kept in memory (a 1M-row, 100-feature reference is ~800 MB). @default 4 */
  cachedReferences?: number;
  /** What one reference or one answer may hold. @default DEFAULT_DRIFT_LIMITS */
  limits?: DriftLimits | undefined;
  /** Worker threads for the walks of large numerical columns. @default none: walks on this thread */
  walks?: WalkPool | undefined;
  now?: () => number;
}

/** See `DriftLimitsConfig` (MODELWATCH_DRIFT_MAX_*). */
export interface DriftLimits {
  maxReferenceColumns: number;
  maxReferenceRows: number;
  maxColumnNameLength: number;
  maxResponseCells: number;
  /**
   * Values one window of a viewer's answer may hold (its predictions × columns): a window is read
   * whole, so this bounds the memory one request takes. Set by MODELWATCH_DRIFT_MAX_WINDOW_VALUES.
   * @default DEFAULT_MAX_WINDOW_VALUES
   */
  maxWindowValues?: number | undefined;
}

export const DEFAULT_DRIFT_LIMITS: DriftLimits = {
  maxReferenceColumns: 1_000,
  maxReferenceRows: 1_000_000,
  maxColumnNameLength: 256,
  maxResponseCells: 100_000,
};

/** Twice the 100 columns × 1M rows window of the benchmark (~1.6 GB of values, ~4.7 GB peak RSS). */
export const DEFAULT_MAX_WINDOW_VALUES = 200_000_000;

export type ReferenceInput = { rows: unknown[] } | { from: number; to: number };

/** What PUT …/reference answers. */
export interface ReferenceSummary {
  model_id: string;
  version: string;
  revision: number;
  source: 'rows' | 'range';
  from: string | null;
  to: string | null;
  rows: number;
  set_at: string;
  columns: {
    column: string;
    role: ColumnRole;
    value_type: ValueType;
    kind: ColumnKind;
    n: number;
    nulls: number;
    distinct: number;
  }[];
}

export interface ReportRequest {
  modelId: string;
  version?: string | undefined;
  from: number;
  to: number;
  /** undefined: one bucket for the whole range. */
  window: Bucket | undefined;
  method?: MethodOption | undefined;
  /** Only these columns (names; `prediction`, `score`, `label` for those roles). */
  columns?: readonly string[] | undefined;
}

export class DriftService {
  private readonly cache = new Map<string, Reference>();
  private readonly now: () => number;
  private revisionSequence = randomInt(1000);
  readonly limits: DriftLimits;

  constructor(private readonly deps: DriftServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.limits = deps.limits ?? DEFAULT_DRIFT_LIMITS;
  }

  /** The model's versions; 404 when it has none. */
  async versions(modelId: string): Promise<ModelVersionRecord[]> {
    const versions = await this.deps.models.list(modelId);
    if (versions.length === 0) throw new DriftError('UNKNOWN_MODEL', `unknown model '${modelId}'`);
    return versions;
  }

  async knownVersion(modelId: string, version: string): Promise<VersionKey> {
    const versions = await this.versions(modelId);
    if (!versions.some((v) => v.model_version === version)) {
      throw new DriftError(
        'UNKNOWN_VERSION',
        `model '${modelId}' has no version '${version}' (known: ${versions.map((v) => v.model_version).join(', ')})`,
      );
    }
    return { modelId, version };
  }

  async settings(modelId: string): Promise<DriftSettings> {
    const stored = await this.deps.policies.get(modelId);
    const parsed = driftPolicySchema.safeParse(stored?.sections['drift'] ?? {});
    if (!parsed.success)
      this.deps.logger.warn({ model: modelId }, 'stored drift policy no longer validates; using defaults');
    return driftSettings(parsed.success ? parsed.data : {});
  }

  async setReference(key: VersionKey, input: ReferenceInput, setBy: string): Promise<ReferenceSummary> {
    await this.knownVersion(key.modelId, key.version);
    const revision = this.nextRevision(await currentRevision(this.deps.db, key));
    const base = { ...key, revision, setAt: this.now() };
    let reference: Reference;
    if ('rows' in input) {
      const { maxReferenceRows, maxReferenceColumns, maxColumnNameLength } = this.limits;
      if (input.rows.length > maxReferenceRows) {
        throw new DriftError(
          'BAD_INPUT',
          `body.rows: ${input.rows.length} rows; a reference may hold at most ${maxReferenceRows} (upload a sample)`,
        );
      }
      const builder = new SampleBuilder(undefined, {
        maxFeatureColumns: maxReferenceColumns,
        maxNameLength: maxColumnNameLength,
      });
      try {
        input.rows.forEach((row, i) => builder.addRow(row, `body.rows[${i}]`));
      } catch (err) {
        if (err instanceof RowError) throw new DriftError('BAD_INPUT', err.message);
        throw err;
      }
      // Kept in shared memory when there are worker threads, so its walks can run there.
      const built = builder.build();
      const raw = this.deps.walks ? built.map((c) => ({ ...c, numbers: inSharedMemory(c.numbers) })) : built;
      if (raw.length === 0)
        throw new DriftError('BAD_INPUT', 'body.rows: the rows hold no values (every value is null)');
      reference = referenceFromRaw(
        { ...base, source: 'rows', from: null, to: null, rows: builder.rows },
        raw,
      );
      await writeRawColumns(this.deps.db, key, revision, raw);
    } else {
      const rows = await countPredictions(this.deps.db, key, input.from, input.to);
      if (rows === 0) {
        throw new DriftError(
          'BAD_INPUT',
          `body.from/body.to: model '${key.modelId}' version '${key.version}' has no predictions in [${new Date(input.from).toISOString()}, ${new Date(input.to).toISOString()})`,
        );
      }
      const info: ReferenceInfo = { ...base, source: 'range', from: input.from, to: input.to, rows };
      reference = await sampleRange(
        this.deps.db,
        {
          key,
          revision,
          from: input.from,
          to: input.to,
          maxNameLength: this.limits.maxColumnNameLength,
          check: (found) => this.checkRangeColumns(found),
          predictions: rows,
        },
        (raw) => referenceFromRaw(info, raw),
      );
    }
    // The summary rows commit the revision: readers look for it there.
    await writeSummary(this.deps.db, reference, setBy);
    this.remember(reference);
    this.deps.logger.info(
      {
        model: key.modelId,
        version: key.version,
        revision,
        source: reference.source,
        rows: reference.rows,
        by: setBy,
      },
      'drift reference set',
    );
    return summarize(reference);
  }

  /**
   * Unique per PUT, not only per millisecond: two PUTs of one version in the same millisecond (two
   * admins, two instances, a retry) sharing one revision would mix their rows under FINAL. So the
   * time in ms × 1000 plus a per-process sequence from a random start: distinct within a process,
   * 1 in 1,000 across instances in the same ms; later than every ms revision stored before, and
   * below 2^53 until the year 2255.
   */
  private nextRevision(current: number | undefined): number {
    this.revisionSequence = (this.revisionSequence + 1) % 1000;
    return Math.max(this.now() * 1000 + this.revisionSequence, (current ?? 0) + 1);
  }

  /** Stored traffic obeys the same column limits as uploaded rows (older data may not). */
  private checkRangeColumns(found: RangeColumns): void {
    const { maxReferenceColumns, maxColumnNameLength } = this.limits;
    if (found.longName !== undefined) {
      throw new DriftError(
        'BAD_INPUT',
        `body.from/body.to: the range holds a feature name of ${found.longName.length} characters ('${shortName(found.longName.name)}'); at most ${maxColumnNameLength} are allowed (choose a range without it)`,
      );
    }
    if (found.features > maxReferenceColumns) {
      throw new DriftError(
        'BAD_INPUT',
        `body.from/body.to: the range holds ${found.features} feature columns; a reference may hold at most ${maxReferenceColumns}`,
      );
    }
  }

  /** The version's current reference (cached by revision), or undefined. */
  async reference(key: VersionKey): Promise<Reference | undefined> {
    const revision = await currentRevision(this.deps.db, key);
    if (revision === undefined) return undefined;
    const id = cacheKey(key);
    const cached = this.cache.get(id);
    if (cached?.revision === revision) {
      // Least recently used goes first: re-insert on use.
      this.cache.delete(id);
      this.cache.set(id, cached);
      return cached;
    }
    const reference = await readReference(this.deps.db, key, revision);
    if (reference) this.remember(reference);
    return reference;
  }

  async requireReference(key: VersionKey): Promise<Reference> {
    const reference = await this.reference(key);
    if (!reference) {
      throw new DriftError(
        'NO_REFERENCE',
        `no drift reference is set for model '${key.modelId}' version '${key.version}': set one with PUT /api/v1/models/${key.modelId}/versions/${key.version}/reference`,
      );
    }
    return reference;
  }

  /** The drift route: buckets of [from, to) that hold predictions, against the version's reference. */
  async report(request: ReportRequest): Promise<DriftReport> {
    const versions = await this.versions(request.modelId);
    const version = request.version ?? defaultVersion(versions);
    const key = await this.knownVersion(request.modelId, version);
    const reference = await this.requireReference(key);
    const settings = await this.settings(request.modelId);
    const buckets = await this.evaluate(key, reference, settings, {
      ...request,
      maxCells: this.limits.maxResponseCells,
      maxWindowValues: this.maxWindowValues(),
    });
    return {
      model_id: request.modelId,
      version,
      reference: {
        revision: reference.revision,
        source: reference.source,
        set_at: new Date(reference.setAt).toISOString(),
        rows: reference.rows,
      },
      buckets,
    };
  }

  /** See `DriftLimits.maxWindowValues`. */
  maxWindowValues(): number {
    return this.limits.maxWindowValues ?? DEFAULT_MAX_WINDOW_VALUES;
  }

  async evaluate(
    key: VersionKey,
    reference: Reference,
    settings: DriftSettings,
    range: {
      from: number;
      to: number;
      window: Bucket | undefined;
      method?: MethodOption | undefined;
      columns?: readonly string[] | undefined;
      /** Refuse (400) an answer of more cells (buckets × columns); undefined: no limit. */
      maxCells?: number | undefined;
      /** Refuse (400) a window of more values (predictions × columns); undefined: no limit. */
      maxWindowValues?: number | undefined;
    },
  ): Promise<DriftBucket[]> {
    const plans = selectPlans(planColumns(reference, settings, range.method), range.columns);
    const { maxCells, maxWindowValues } = range;
    const check = (predictions: readonly number[]) => {
      if (maxCells !== undefined) checkCells(predictions.length, plans.length, maxCells);
      if (maxWindowValues !== undefined)
        checkWindowValues(predictions, plans.length, maxWindowValues, narrowWindows(range.window));
    };
    // With a walk pool, a batch's walks run on worker threads while the engine reads the next one.
    // The numbers stay in the engine's result file until a walk or this thread reads them.
    const buckets: Promise<DriftBucket>[] = [];
    for await (const sample of readWindows(this.deps.db, {
      key,
      from: range.from,
      to: range.to,
      window: range.window,
      plans,
      checkWindows: check,
      unsortedWhereBinned: true,
      numbersInFile: true,
    })) {
      const bucket = evaluateWindowOn(this.deps.walks, plans, sample, settings.datasetDriftShare);
      // Awaited below; a failure must not count as unhandled while later windows are read.
      bucket.catch(() => undefined);
      // The window's result file closes once every window read with it has been evaluated.
      void bucket.finally(() => sample.release?.()).catch(() => undefined);
      buckets.push(bucket);
    }
    return Promise.all(buckets);
  }

  private remember(reference: Reference): void {
    const id = cacheKey(reference);
    this.cache.delete(id);
    this.cache.set(id, reference);
    const limit = this.deps.cachedReferences ?? 4;
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= limit) break;
      this.cache.delete(oldest);
    }
  }
}

function cacheKey(key: VersionKey): string {
  return `${key.modelId}\u0000${key.version}`;
}

/**
 * The version a drift request means when it names none: the production version most recently
 * first seen (any stage when none is in production; ties: the larger version string), so a
 * challenger registered in shadow (with no reference yet) does not take over the default.
 */
export function defaultVersion(versions: readonly ModelVersionRecord[]): string {
  const production = versions.filter((v) => v.stage === 'production');
  return latestVersion(production.length > 0 ? production : versions);
}

function latestVersion(versions: readonly ModelVersionRecord[]): string {
  const sorted = [...versions].sort((a, b) =>
    a.first_seen < b.first_seen
      ? -1
      : a.first_seen > b.first_seen
        ? 1
        : a.model_version < b.model_version
          ? -1
          : 1,
  );
  return sorted[sorted.length - 1]!.model_version;
}

export function summarize(reference: Reference): ReferenceSummary {
  return {
    model_id: reference.modelId,
    version: reference.version,
    revision: reference.revision,
    source: reference.source,
    from: reference.from === null ? null : new Date(reference.from).toISOString(),
    to: reference.to === null ? null : new Date(reference.to).toISOString(),
    rows: reference.rows,
    set_at: new Date(reference.setAt).toISOString(),
    columns: reference.columns.map((c) => ({
      column: c.column,
      role: c.role,
      value_type: c.valueType,
      kind: c.kind,
      n: c.n,
      nulls: c.nulls,
      distinct: c.distinct,
    })),
  };
}

/** The plans of the columns asked for; a name the reference does not have is a 400. */
export function selectPlans(plans: ColumnPlan[], columns: readonly string[] | undefined): ColumnPlan[] {
  if (columns === undefined) return plans;
  const known = new Set(plans.map((p) => p.ref.column));
  const unknown = columns.find((c) => !known.has(c));
  if (unknown !== undefined)
    throw new DriftError(
      'BAD_INPUT',
      `querystring/columns: '${shortName(unknown)}' is not a column of the reference`,
    );
  const wanted = new Set(columns);
  return plans.filter((p) => wanted.has(p.ref.column));
}

function checkCells(buckets: number, columns: number, maxCells: number): void {
  if (buckets * columns <= maxCells) return;
  throw new DriftError(
    'BAD_INPUT',
    `querystring: the answer would hold ${buckets} buckets × ${columns} columns = ${buckets * columns} cells; at most ${maxCells} are allowed. ` +
      `Narrow the query: a larger bucket, a shorter from/to range, or fewer columns (columns=a,b)`,
  );
}

/**
 * Refuses (400) a read whose largest window holds more than `maxValues` values (predictions ×
 * columns, as the batches count them): a window is read whole. `narrow` says how to ask for less.
 */
export function checkWindowValues(
  predictions: readonly number[],
  columns: number,
  maxValues: number,
  narrow: string,
): void {
  const largest = predictions.reduce((max, n) => Math.max(max, n), 0);
  const values = largest * Math.max(1, columns);
  if (values <= maxValues) return;
  throw new DriftError(
    'BAD_INPUT',
    `querystring: a window would hold ${largest} predictions × ${columns} columns = ${values} values; at most ${maxValues} are read at once. ${narrow}`,
  );
}

function narrowWindows(window: Bucket | undefined): string {
  return window === undefined
    ? 'Give a bucket (bucket=1h or 1d), a shorter from/to range, or fewer columns (columns=a,b)'
    : 'Give a smaller bucket, or fewer columns (columns=a,b)';
}
