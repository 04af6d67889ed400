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

/** The bucket of a stored answer: the stored windows' own; another requested bucket is a 400. */
export function storedBucket(requested: string | undefined, stored: Bucket): string {
  if (requested !== undefined && parseBucket(requested)?.text !== stored.text)
    throw new SegmentError(
      'BAD_INPUT',
      `querystring/bucket: the stored windows of this segmentation are '${stored.text}'; ask for that bucket or none`,
    );
  return stored.text;
}

interface Group {
  value: string | null;
  other: boolean;
  predictions: number;
  reference: 'segment' | 'population';
  windows: StoredSegmentWindow[];
}

/** Values by stored predictions (most first, ties by value), then `other`, then the predictions without a value. */
function groups(windows: readonly StoredSegmentWindow[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const w of windows) {
    const id = JSON.stringify([w.other, w.value]);
    const g = byKey.get(id) ?? {
      value: w.value,
      other: w.other,
      predictions: 0,
      reference: w.reference,
      windows: [],
    };
    g.predictions += w.predictions;
    // Population when any window had no segment reference of its own.
    if (w.reference === 'population') g.reference = 'population';
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

export async function storedSegments<B>(
  db: Database,
  request: StoredRequest,
  pick: (w: StoredSegmentWindow) => B,
): Promise<SegmentOf<B>[]> {
  const windows = await readSegmentWindows(db, request);
  return groups(windows).map((g) => ({
    value: g.value,
    other: g.other,
    predictions: g.predictions,
    reference: g.reference,
    buckets: g.windows.map(pick),
  }));
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

export const qualityOf = (w: StoredSegmentWindow): QualityBucket => w.quality;

export function storedHeader(segmentation: string, settings: SegmentSettings): SegmentHeader {
  return { by: segmentation, max_segments: settings.maxSegments, source: 'stored' };
}
