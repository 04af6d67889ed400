/**
 * `?segment=…&source=stored` on the drift and quality routes: the segments' buckets read from the
 * windows the segment loop stored (nothing recomputed), beside the population's usual answer.
 * Stored windows choose their segments per window (that window's most frequent values), so a
 * value may be its own segment in one window and part of `other` in the next: a segment's
 * buckets are the windows in which it was one.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import type { Bucket } from '../../platform/time/index.js';
import { parseBucket } from '../../platform/time/index.js';
import { formatSegment, parseSegment, SegmentError, type SegmentSettings } from '../../segments/index.js';
import { datasetDriftOf } from '../engine/evaluate.js';
import type { DriftBucket } from '../engine/types.js';
import type { QualityBucket } from '../quality/types.js';
import type { SegmentHeader, SegmentOf } from './types.js';
import { readSegmentWindows, type StoredSegmentWindow } from './store.js';

/** The segmentation of a stored answer, refused (400) when the policy does not declare it. */
export function storedSegmentation(segment: string, settings: SegmentSettings): string {
  const segmentation = formatSegment(parseSegment(segment));
  if (!settings.declared.includes(segmentation))
    throw new SegmentError(
      'BAD_INPUT',
      `querystring/source: '${segmentation.length > 80 ? `${segmentation.slice(0, 80)}…` : segmentation}' is not declared in the segments policy (evaluate or evaluation_windows), so no windows are stored for it; ask without source=stored`,
    );
  return segmentation;
}

/**
 * The bucket of a stored answer: the stored windows' own; another requested bucket is a 400. The
 * same bucket written differently (`24h` for `1d`, `60m` for `1h`: the same size and origin) is
 * the stored one.
 */
export function storedBucket(requested: string | undefined, stored: Bucket): string {
  if (requested !== undefined && !sameBucket(parseBucket(requested), stored))
    throw new SegmentError(
      'BAD_INPUT',
      `querystring/bucket: the stored windows of this segmentation are '${stored.text}'; ask for that bucket or none`,
    );
  return stored.text;
}

function sameBucket(a: Bucket | undefined, b: Bucket): boolean {
  if (a === undefined) return false;
  if (a.size === 'month' || b.size === 'month') return a.size === b.size;
  return a.size === b.size && a.origin === b.origin;
}

interface Group {
  value: string | null;
  other: boolean;
  predictions: number;
  windows: StoredSegmentWindow[];
}

/** Values by stored predictions (most first, ties by value), then `other`, then the predictions without a value. */
function groups(windows: readonly StoredSegmentWindow[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const w of windows) {
    const id = JSON.stringify([w.other, w.value]);
    const g = byKey.get(id) ?? { value: w.value, other: w.other, predictions: 0, windows: [] };
    g.predictions += w.predictions;
    g.windows.push(w);
    byKey.set(id, g);
  }
  const rank = (g: Group) => (g.other ? 1 : g.value === null ? 2 : 0);
  return [...byKey.values()].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      b.predictions - a.predictions ||
      ((a.value ?? '') < (b.value ?? '') ? -1 : (a.value ?? '') > (b.value ?? '') ? 1 : 0),
  );
}

export interface StoredRequest {
  modelId: string;
  version: string;
  segmentation: string;
  from: number;
  to: number;
}

/** How a stored answer reads its windows: their buckets, and what its segments were measured against. */
export interface StoredPick<B> {
  bucket: (w: StoredSegmentWindow) => B;
  reference: (
    windows: readonly StoredSegmentWindow[],
  ) => Pick<SegmentOf<B>, 'reference' | 'population_columns'>;
}

export async function storedSegments<B>(
  db: Database,
  request: StoredRequest,
  pick: StoredPick<B>,
): Promise<SegmentOf<B>[]> {
  const windows = await readSegmentWindows(db, request);
  return groups(windows).map((g) => {
    const note = g.windows.findLast((w) => w.note !== undefined)?.note;
    return {
      value: g.value,
      other: g.other,
      predictions: g.predictions,
      ...pick.reference(g.windows),
      ...(note === undefined ? {} : { note }),
      buckets: g.windows.map(pick.bucket),
    };
  });
}

/**
 * A segment's drift reference over its stored windows: `segment` or `population` when every
 * window says so; otherwise `mixed`, its `population_columns` the answered columns that any window
 * measured against the whole reference (all of a `population` window's).
 */
export function storedDriftReference(
  columns: readonly string[] | undefined,
): StoredPick<DriftBucket>['reference'] {
  const wanted = columns === undefined ? undefined : new Set(columns);
  return (windows) => {
    if (windows.every((w) => w.reference === 'population')) return { reference: 'population' };
    const whole = new Set<string>();
    for (const w of windows) {
      const names =
        w.reference === 'population' ? w.drift.columns.map((c) => c.column) : (w.population_columns ?? []);
      for (const name of names) if (wanted === undefined || wanted.has(name)) whole.add(name);
    }
    return whole.size === 0
      ? { reference: 'segment' }
      : { reference: 'mixed', population_columns: [...whole].sort() };
  };
}

/**
 * A segment's quality reference over its stored windows: quality takes the segment's own missing
 * rates whenever drift had any of its own columns (`segment` or `mixed`); `population` when any
 * window had none.
 */
export function storedQualityReference(
  windows: readonly StoredSegmentWindow[],
): Pick<SegmentOf<QualityBucket>, 'reference'> {
  return { reference: windows.some((w) => w.reference === 'population') ? 'population' : 'segment' };
}

/**
 * A stored drift bucket restricted to the requested columns (already checked against the reference
 * by the population's answer), its drift share and dataset drift recomputed over the kept features
 * as a computed answer's are (with the policy's current `dataset_drift_share`).
 */
export function driftColumns(
  columns: readonly string[] | undefined,
  datasetDriftShare: number,
): (w: StoredSegmentWindow) => DriftBucket {
  if (columns === undefined) return (w) => w.drift;
  const wanted = new Set(columns);
  return (w) => {
    const kept = w.drift.columns.filter((c) => wanted.has(c.column));
    return { ...w.drift, ...datasetDriftOf(kept, datasetDriftShare), columns: kept };
  };
}

export const qualityOf: StoredPick<QualityBucket> = {
  bucket: (w) => w.quality,
  reference: storedQualityReference,
};

export function storedHeader(segmentation: string, settings: SegmentSettings): SegmentHeader {
  return { by: segmentation, max_segments: settings.maxSegments, source: 'stored' };
}
