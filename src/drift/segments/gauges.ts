/**
 * Per-segment gauges of the stored segment windows: each declared segmentation's latest window,
 * one series per segment. The `segment` label is `feature:region=north` for a value,
 * `feature:region!other` for the values beyond max_segments and `feature:region!none` for the
 * predictions without one; a value over MAX_LABEL_VALUE characters is cut to them and followed by
 * `…#` and the first 8 hex digits of its SHA-256, so values sharing their first characters keep
 * distinct series (SEGMENT_LABEL_SQL builds the same label in ClickHouse). The labels have no
 * version: a segment's series combine the versions whose newest window ends last (the highest drift
 * share, dataset drift and flagged columns; the predictions of all of them). Cardinality per model:
 * at most 20 segmentations × (max_segments ≤ 50 + 2) segments per version; a segment that leaves
 * the latest window loses its series.
 */
import { createHash } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import { NewestWindows } from '../service/gauges.js';
import type { StoredSegmentWindow } from './store.js';

/** Characters (code points) of a segment value kept in the label. */
export const MAX_LABEL_VALUE = 128;
/** Hex digits of the value's SHA-256 after a cut value. */
const LABEL_HASH_DIGITS = 8;

export interface SegmentGauges {
  /**
   * Shows each version's latest window among `windows` (one model and segmentation, any versions);
   * a window older than the shown ones is ignored.
   */
  show(modelId: string, segmentation: string, windows: readonly StoredSegmentWindow[]): void;
  /** Whether the version's window of the segmentation ending at `end` is shown or older than the shown ones. */
  shows(modelId: string, segmentation: string, version: string, end: number): boolean;
  /** Removes the series of the model's segmentations not among `declared`. */
  keepOnly(modelId: string, declared: readonly string[]): void;
}

export function segmentLabel(segmentation: string, w: Pick<StoredSegmentWindow, 'value' | 'other'>): string {
  if (w.other) return `${segmentation}!other`;
  if (w.value === null) return `${segmentation}!none`;
  return `${segmentation}=${labelValue(w.value)}`;
}

/** A value as a label holds it: whole up to MAX_LABEL_VALUE code points, else cut and marked with its hash. */
function labelValue(value: string): string {
  const points = [...value];
  if (points.length <= MAX_LABEL_VALUE) return value;
  const hash = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, LABEL_HASH_DIGITS);
  return `${points.slice(0, MAX_LABEL_VALUE).join('')}…#${hash}`;
}

/**
 * `segmentLabel` over `segment_results` columns (segmentation, other, has_value, value), for the
 * dashboards' SQL: the same text as the gauges' label, cut values and their hash included.
 */
export const SEGMENT_LABEL_SQL =
  "multiIf(other, concat(segmentation, '!other'), NOT has_value, concat(segmentation, '!none'), " +
  `lengthUTF8(value) <= ${MAX_LABEL_VALUE}, concat(segmentation, '=', value), ` +
  `concat(segmentation, '=', substringUTF8(value, 1, ${MAX_LABEL_VALUE}), '…#', substring(lower(hex(SHA256(value))), 1, ${LABEL_HASH_DIGITS})))`;

const gaugeKey = (model: string, segmentation: string) => `${model}\u0000${segmentation}`;

export function createSegmentGauges(registry: Registry): SegmentGauges {
  const labelNames = ['model', 'segment'] as const;
  const driftShare = new Gauge({
    name: 'modelwatch_segment_drift_share',
    help: 'Share of drifted features in the latest stored window of each segment of a declared segmentation (segment label: feature:region=north, feature:region!other, feature:region!none)',
    labelNames,
    registers: [registry],
  });
  const datasetDrift = new Gauge({
    name: 'modelwatch_segment_dataset_drift',
    help: 'Dataset drift (1) or not (0) in the latest stored window of each segment',
    labelNames,
    registers: [registry],
  });
  const flagged = new Gauge({
    name: 'modelwatch_segment_quality_flagged_columns',
    help: 'Feature columns with a data-quality flag in the latest stored window of each segment',
    labelNames,
    registers: [registry],
  });
  const predictions = new Gauge({
    name: 'modelwatch_segment_predictions',
    help: 'Predictions in the latest stored window of each segment',
    labelNames,
    registers: [registry],
  });
  const all = [driftShare, datasetDrift, flagged, predictions];
  const newest = new NewestWindows<readonly StoredSegmentWindow[]>();
  const shown = new Map<string, string[]>();
  return {
    show(model, segmentation, windows) {
      const id = gaugeKey(model, segmentation);
      let changed = false;
      for (const version of new Set(windows.map((w) => w.version))) {
        const own = windows.filter((w) => w.version === version);
        const end = Math.max(...own.map((w) => Date.parse(w.end)));
        const latest = own.filter((w) => Date.parse(w.end) === end);
        changed = newest.offer(id, version, end, latest) || changed;
      }
      if (!changed) return;
      for (const segment of shown.get(id) ?? []) for (const g of all) g.remove({ model, segment });
      const bySegment = new Map<string, StoredSegmentWindow[]>();
      for (const w of newest.latest(id).flat()) {
        const segment = segmentLabel(segmentation, w);
        bySegment.set(segment, [...(bySegment.get(segment) ?? []), w]);
      }
      for (const [segment, ws] of bySegment) {
        const labels = { model, segment };
        driftShare.set(labels, Math.max(...ws.map((w) => w.drift.drift_share)));
        datasetDrift.set(labels, ws.some((w) => w.drift.dataset_drift) ? 1 : 0);
        flagged.set(labels, Math.max(...ws.map((w) => w.quality.flagged_columns)));
        predictions.set(
          labels,
          ws.reduce((sum, w) => sum + w.predictions, 0),
        );
      }
      shown.set(id, [...bySegment.keys()]);
    },
    shows(model, segmentation, version, end) {
      return newest.shows(gaugeKey(model, segmentation), version, end);
    },
    keepOnly(model, declared) {
      for (const [id, segments] of shown) {
        const [owner = '', segmentation = ''] = id.split('\u0000');
        if (owner !== model || declared.includes(segmentation)) continue;
        for (const segment of segments) for (const g of all) g.remove({ model, segment });
        shown.delete(id);
        newest.forget(id);
      }
    },
  };
}
