/**
 * Drift and data quality per segment (src/segments): the population's answer, and the same
 * answer for each segment, computed by the unchanged drift and quality code on a database handle
 * that sees only the segment's predictions.
 */
import type { ModelRegistry } from '../../models/index.js';
import type { Database } from '../../platform/clickhouse/index.js';
import type { Logger } from '../../platform/observability/index.js';
import type { Bucket } from '../../platform/time/index.js';
import {
  formatSegment,
  parseSegment,
  resolveSegments,
  restrictPredictions,
  segmentSettings,
  segmentsPolicySchema,
  SegmentError,
  type ResolveOptions,
  type Segment,
  type SegmentSettings,
  type SegmentSpec,
} from '../../segments/index.js';
import type { DriftSettings } from '../engine/settings.js';
import type { DriftBucket, DriftReport, Reference } from '../engine/types.js';
import type { QualityReport, QualityService } from '../quality/service.js';
import { QualityService as ScopedQuality } from '../quality/service.js';
import type { QualityBucket } from '../quality/types.js';
import { DriftService, type DriftLimits, type ReportRequest } from '../service/drift-service.js';
import type { PolicyStore } from '../store/policies.js';
import { RANGE } from '../store/sql.js';
import {
  referenceValues,
  segmentBaselines,
  segmentReference,
  type OwnReference,
} from './segment-reference.js';
import type { SegmentHeader, SegmentOf, SegmentReferenceUse } from './types.js';
import {
  driftColumns,
  qualityOf,
  storedBucket,
  storedDriftReference,
  storedHeader,
  storedSegmentation,
  storedSegments,
} from './stored.js';

export interface SegmentedDeps {
  db: Database;
  models: ModelRegistry;
  policies: PolicyStore;
  logger: Logger;
  limits: DriftLimits;
  drift: DriftService;
  quality: QualityService;
  /**
   * Bytes each read that chooses a request's segments may take in the engine; more is a 400.
   * @default DEFAULT_SEGMENT_MAX_MEMORY_BYTES (256 MiB)
   */
  segmentMaxMemoryBytes?: number | undefined;
}

export type { SegmentHeader, SegmentOf, SegmentReferenceUse } from './types.js';

export type SegmentedDriftReport = DriftReport & {
  segment: SegmentHeader;
  segments: SegmentOf<DriftBucket>[];
};
export type SegmentedQualityReport = QualityReport & {
  segment: SegmentHeader;
  segments: SegmentOf<QualityBucket>[];
};

type Range = { from: number; to: number; window: Bucket | undefined };

/** Segments' own references kept (computed routes and the segment loop share them). */
const CACHED_REFERENCES = 256;

export class SegmentedAnalysis {
  private readonly references: ReferenceCache;

  constructor(private readonly deps: SegmentedDeps) {
    // At most what one read may hold, in all: a cached reference is a read's values kept.
    this.references = new ReferenceCache(CACHED_REFERENCES, () => deps.drift.maxWindowValues());
  }

  /** How segments are chosen: the reads' memory bound. */
  resolveOptions(): ResolveOptions {
    return { maxMemoryBytes: this.deps.segmentMaxMemoryBytes };
  }

  /**
   * The segment's own rows of the reference range, read through `db` (restricted to the segment)
   * under the window-value limit, cached by reference revision, the drift policy's columns (their
   * kinds shape a reference), the segmentation and the segment's filter.
   */
  async ownReference(
    db: Database,
    key: { modelId: string; version: string },
    reference: Reference,
    settings: DriftSettings,
    segmentation: string,
    segment: Segment,
  ): Promise<OwnReference> {
    const id = JSON.stringify([
      key.modelId,
      key.version,
      reference.revision,
      settings.columns,
      segmentation,
      segment.filter.sql,
      segment.filter.params,
    ]);
    const cached = this.references.get(id);
    if (cached) return cached;
    const own = await segmentReference(db, key, reference, settings, this.deps.drift.maxWindowValues());
    this.references.set(id, own);
    return own;
  }

  async settings(modelId: string): Promise<SegmentSettings> {
    const stored = await this.deps.policies.get(modelId);
    const parsed = segmentsPolicySchema.safeParse(stored?.sections['segments'] ?? {});
    if (!parsed.success)
      this.deps.logger.warn({ model: modelId }, 'stored segments policy no longer validates; using defaults');
    return segmentSettings(parsed.success ? parsed.data : {});
  }

  /** The bucket the policy declares for this segmentation, for a request that names none. */
  async declaredWindow(modelId: string, segment: string): Promise<string | undefined> {
    const spec = parseSegment(segment);
    return (await this.settings(modelId)).windowFor(formatSegment(spec))?.text;
  }

  /** The bucket of the stored windows of a declared segmentation: its declared one, else the drift policy's evaluation window. */
  async storedBucket(modelId: string, segment: string, requested: string | undefined): Promise<string> {
    // An unknown model is a 404 (SPEC 9) before its policy is asked what it declares.
    await this.deps.drift.versions(modelId);
    const settings = await this.settings(modelId);
    const segmentation = storedSegmentation(segment, settings);
    const window =
      settings.windowFor(segmentation) ?? (await this.deps.drift.settings(modelId)).evaluationWindow;
    return storedBucket(requested, window);
  }

  /** The population's drift as usual; the segments' from the stored windows. */
  async storedDrift(request: ReportRequest & { segment: string }): Promise<SegmentedDriftReport> {
    if (request.method !== undefined)
      throw new SegmentError(
        'BAD_INPUT',
        "querystring/method: stored windows were evaluated with the policy's methods; ask without source=stored",
      );
    const settings = await this.settings(request.modelId);
    const segmentation = storedSegmentation(request.segment, settings);
    const overall = await this.deps.drift.report(request);
    const { datasetDriftShare } = await this.deps.drift.settings(request.modelId);
    const segments = await storedSegments(
      this.deps.db,
      { ...request, version: overall.version, segmentation },
      {
        bucket: driftColumns(request.columns, datasetDriftShare),
        reference: storedDriftReference(request.columns),
      },
    );
    return { ...overall, segment: storedHeader(segmentation, settings), segments };
  }

  async storedQuality(
    request: Range & { modelId: string; version?: string | undefined; segment: string },
  ): Promise<SegmentedQualityReport> {
    const settings = await this.settings(request.modelId);
    const segmentation = storedSegmentation(request.segment, settings);
    const overall = await this.deps.quality.report(request);
    const segments = await storedSegments(
      this.deps.db,
      { ...request, version: overall.version, segmentation },
      qualityOf,
    );
    return { ...overall, segment: storedHeader(segmentation, settings), segments };
  }

  async drift(request: ReportRequest & { segment: string }): Promise<SegmentedDriftReport> {
    const spec = parseSegment(request.segment);
    const overall = await this.deps.drift.report(request);
    const key = { modelId: request.modelId, version: overall.version };
    const reference = await this.deps.drift.requireReference(key);
    const driftSettings = await this.deps.drift.settings(request.modelId);
    checkFeature(spec, reference, driftSettings);
    const { header, segments, minReferenceRows } = await this.segments(spec, key, request);
    const out: SegmentOf<DriftBucket>[] = [];
    for (const segment of segments) {
      const db = restrictPredictions(this.deps.db, RANGE, segment.filter);
      const own = await this.ownReference(db, key, reference, driftSettings, header.by, segment);
      const base = segmentBaselines(spec, reference, own, minReferenceRows, request.columns);
      const scoped = new DriftService({ ...this.deps, db, limits: this.deps.limits });
      const buckets = await scoped.evaluate(key, base.drift, driftSettings, {
        ...request,
        columns: base.columns,
        maxCells: this.deps.limits.maxResponseCells,
        maxWindowValues: this.deps.drift.maxWindowValues(),
      });
      out.push(entry(segment, base.reference, buckets, base.populationColumns, base.note));
    }
    return { ...overall, segment: header, segments: out };
  }

  async quality(
    request: Range & { modelId: string; version?: string | undefined; segment: string },
  ): Promise<SegmentedQualityReport> {
    const spec = parseSegment(request.segment);
    const overall = await this.deps.quality.report(request);
    const key = { modelId: request.modelId, version: overall.version };
    const reference = await this.deps.drift.requireReference(key);
    const driftSettings = await this.deps.drift.settings(request.modelId);
    checkFeature(spec, reference, driftSettings);
    const { header, segments, minReferenceRows } = await this.segments(spec, key, request);
    const out: SegmentOf<QualityBucket>[] = [];
    for (const segment of segments) {
      const db = restrictPredictions(this.deps.db, RANGE, segment.filter);
      // Quality reads the reference's ranges and categories inside ClickHouse: the population's.
      // Its baseline missing rates are the segment's own, with enough rows of the reference range.
      const own = await this.ownReference(db, key, reference, driftSettings, header.by, segment);
      const base = segmentBaselines(spec, reference, own, minReferenceRows);
      const scoped = new ScopedQuality({ ...this.deps, db, drift: this.deps.drift });
      const buckets = await scoped.evaluate(key, base.quality, driftSettings, {
        ...request,
        maxCells: this.deps.limits.maxResponseCells,
      });
      out.push(entry(segment, base.qualityReference, buckets, [], base.note));
    }
    return { ...overall, segment: header, segments: out };
  }

  private async segments(
    spec: SegmentSpec,
    key: { modelId: string; version: string },
    range: Range,
  ): Promise<{ header: SegmentHeader; segments: Segment[]; minReferenceRows: number }> {
    const { maxSegments, minReferenceRows } = await this.settings(key.modelId);
    const segments = await resolveSegments(
      this.deps.db,
      spec,
      { model: key.modelId, versions: [key.version], from: range.from, to: range.to },
      maxSegments,
      this.resolveOptions(),
    );
    return { header: { by: formatSegment(spec), max_segments: maxSegments }, segments, minReferenceRows };
  }
}

function entry<B>(
  segment: Segment,
  reference: SegmentReferenceUse,
  buckets: B[],
  populationColumns: readonly string[],
  note: string | undefined,
): SegmentOf<B> {
  return {
    value: segment.value,
    other: segment.other,
    predictions: segment.predictions,
    reference,
    ...(reference === 'mixed' ? { population_columns: [...populationColumns] } : {}),
    ...(note === undefined ? {} : { note }),
    buckets,
  };
}

/**
 * Segments' own references, least recently used first out: at most `maxEntries`, and at most
 * `maxValues()` values (sorted numbers and categories) together.
 */
class ReferenceCache {
  private readonly entries = new Map<string, { own: OwnReference; values: number }>();
  private values = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxValues: () => number,
  ) {}

  get(id: string): OwnReference | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    this.entries.set(id, entry);
    return entry.own;
  }

  set(id: string, own: OwnReference): void {
    const values = referenceValues(own.reference);
    const limit = this.maxValues();
    if (values > limit) return;
    this.drop(id);
    for (const oldest of [...this.entries.keys()]) {
      if (this.entries.size < this.maxEntries && this.values + values <= limit) break;
      this.drop(oldest);
    }
    this.entries.set(id, { own, values });
    this.values += values;
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.values -= entry.values;
    this.entries.delete(id);
  }
}

/** A feature segment needs a categorical feature of the reference; a tag is checked against the data. */
export function checkFeature(spec: SegmentSpec, reference: Reference, settings: DriftSettings): void {
  if (spec.kind !== 'feature') return;
  const column = reference.columns.find((c) => c.role === 'feature' && c.column === spec.name);
  const name = spec.name.length > 64 ? `${spec.name.slice(0, 64)}…` : spec.name;
  if (!column)
    throw new SegmentError(
      'UNKNOWN_SEGMENT',
      `querystring/segment: '${name}' is not a feature of the reference of version '${reference.version}'`,
    );
  const kind =
    column.valueType === 'text' ? 'categorical' : (settings.columns[column.column]?.kind ?? column.kind);
  if (kind !== 'categorical')
    throw new SegmentError(
      'BAD_INPUT',
      `querystring/segment: feature '${name}' is numerical; segments are by categorical features (declare its kind categorical in the drift policy to segment by it)`,
    );
}
