/**
 * Per-segment gauges of the stored segment windows: each declared segmentation's latest window,
 * one series per segment. The `segment` label is `feature:region=north` for a value,
 * `feature:region!other` for the values beyond max_segments and `feature:region!none` for the
 * predictions without one; a value is cut to MAX_LABEL_VALUE characters. Cardinality per model:
 * at most 20 segmentations × (max_segments ≤ 50 + 2) segments; a segment that leaves the latest
 * window loses its series.
 */
import { Gauge, type Registry } from 'prom-client';
import type { StoredSegmentWindow } from './store.js';

/** Characters of a segment value kept in the label. */
export const MAX_LABEL_VALUE = 128;

export interface SegmentGauges {
  /** Shows the latest window among `windows` (one model and segmentation); an older one is ignored. */
  show(modelId: string, segmentation: string, windows: readonly StoredSegmentWindow[]): void;
}

export function segmentLabel(segmentation: string, w: Pick<StoredSegmentWindow, 'value' | 'other'>): string {
  if (w.other) return `${segmentation}!other`;
  if (w.value === null) return `${segmentation}!none`;
  const value = w.value.length > MAX_LABEL_VALUE ? `${w.value.slice(0, MAX_LABEL_VALUE)}…` : w.value;
  return `${segmentation}=${value}`;
}

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
  const shown = new Map<string, { end: number; segments: string[] }>();
  return {
    show(model, segmentation, windows) {
      const end = Math.max(...windows.map((w) => Date.parse(w.end)));
      if (windows.length === 0) return;
      const id = `${model}\u0000${segmentation}`;
      const before = shown.get(id);
      if (before && before.end > end) return;
      for (const segment of before?.segments ?? []) for (const g of all) g.remove({ model, segment });
      const latest = windows.filter((w) => Date.parse(w.end) === end);
      for (const w of latest) {
        const labels = { model, segment: segmentLabel(segmentation, w) };
        driftShare.set(labels, w.drift.drift_share);
        datasetDrift.set(labels, w.drift.dataset_drift ? 1 : 0);
        flagged.set(labels, w.quality.flagged_columns);
        predictions.set(labels, w.predictions);
      }
      shown.set(id, { end, segments: latest.map((w) => segmentLabel(segmentation, w)) });
    },
  };
}
