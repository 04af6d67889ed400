/**
 * The per-segment condition over the segment loop's stored windows (nothing is recomputed): a
 * window of a declared segmentation fires when any of its segments meets the drift or the quality
 * condition in it and in the K−1 windows right before it (the same segment: a value that falls
 * into `other` in one window breaks its run). One firing per window and segmentation, naming
 * every segment that breached.
 */
import { segmentLabel, type StoredSegmentWindow } from '../../drift/index.js';
import { held as driftHeld } from './drift-rule.js';
import type { SegmentRule } from './policy.js';
import { held as qualityHeld } from './quality-rule.js';
import type { Firing } from './trigger.js';
import { consecutiveRuns } from './window-runs.js';

/** Why one segment breached in one window, or undefined. */
function held(rule: SegmentRule, w: StoredSegmentWindow): Record<string, unknown> | undefined {
  const base = { model_id: w.model_id, version: w.version, reference_revision: w.reference_revision };
  const drift = rule.drift && driftHeld(rule.drift, { ...w.drift, ...base, evaluated_at: '' });
  const quality = rule.quality && qualityHeld(rule.quality, { ...w.quality, ...base });
  if (!drift && !quality) return undefined;
  return {
    start: w.start,
    end: w.end,
    predictions: w.predictions,
    ...(drift ? { drift } : {}),
    ...(quality ? { quality } : {}),
  };
}

function k(rule: SegmentRule): number {
  // Either condition may fire; the shorter run decides when both are set.
  return Math.min(rule.drift?.consecutiveWindows ?? Infinity, rule.quality?.consecutiveWindows ?? Infinity);
}

export function segmentFirings(
  modelId: string,
  rule: SegmentRule,
  windows: readonly StoredSegmentWindow[],
): Firing[] {
  const streams = new Map<string, StoredSegmentWindow[]>();
  for (const w of windows.filter((x) => x.segmentation === rule.segmentation)) {
    const id = JSON.stringify([w.other, w.value]);
    streams.set(id, [...(streams.get(id) ?? []), w]);
  }
  const ends = new Map<string, { window: StoredSegmentWindow; segments: Record<string, unknown>[] }>();
  for (const stream of streams.values()) {
    for (const run of consecutiveRuns(stream, k(rule), (w) => held(rule, w))) {
      const id = `${run.window.version}\u0000${run.window.start}`;
      const end = ends.get(id) ?? { window: run.window, segments: [] };
      end.segments.push({
        segment: segmentLabel(rule.segmentation, run.window),
        value: run.window.value,
        other: run.window.other,
        windows: run.evidence,
      });
      ends.set(id, end);
    }
  }
  return [...ends.values()].map(({ window, segments }) => ({
    modelId,
    version: window.version,
    reason: 'segment',
    key: rule.segmentation,
    start: Date.parse(window.start),
    end: Date.parse(window.end),
    evidence: {
      condition: {
        segment: rule.segmentation,
        ...(rule.drift ? { drift: rule.drift } : {}),
        ...(rule.quality ? { quality: rule.quality } : {}),
      },
      segmentation: rule.segmentation,
      segments,
    },
  }));
}
