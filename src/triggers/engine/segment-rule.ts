/**
 * The per-segment condition over the segment loop's stored windows (nothing is recomputed): a
 * window of a declared segmentation fires when any of its segments meets the drift or the quality
 * condition in it and in the K−1 windows right before it (the same segment: a value that falls
 * into `other` in one window breaks its run), each condition with its own K. One firing per
 * window and segmentation, naming every segment that breached.
 */
import { segmentLabel, type StoredSegmentWindow } from '../../drift/index.js';
import { driftCondition, held as driftHeld } from './drift-rule.js';
import { latestWindows, MAX_EVIDENCE_SEGMENTS, omitted } from './evidence-limits.js';
import type { SegmentRule } from './policy.js';
import { qualityCondition, held as qualityHeld } from './quality-rule.js';
import type { Firing } from './trigger.js';
import { consecutiveRuns } from './window-runs.js';

type Evidence = Record<string, unknown>;
type Condition = (w: StoredSegmentWindow) => Evidence | undefined;

/** Each condition of the rule with its own K: why one segment breached it in one window. */
function conditions(rule: SegmentRule): { k: number; held: Condition }[] {
  const { drift, quality } = rule;
  const base = (w: StoredSegmentWindow) => ({
    model_id: w.model_id,
    version: w.version,
    reference_revision: w.reference_revision,
  });
  const window = (w: StoredSegmentWindow) => ({ start: w.start, end: w.end, predictions: w.predictions });
  const out: { k: number; held: Condition }[] = [];
  if (drift) {
    out.push({
      k: drift.consecutiveWindows,
      held: (w) => {
        const evidence = driftHeld(drift, { ...w.drift, ...base(w), evaluated_at: '' });
        return evidence && { ...window(w), drift: evidence };
      },
    });
  }
  if (quality) {
    out.push({
      k: quality.consecutiveWindows,
      held: (w) => {
        const evidence = qualityHeld(quality, { ...w.quality, ...base(w) });
        return evidence && { ...window(w), quality: evidence };
      },
    });
  }
  return out;
}

/**
 * The windows of one segment's stream that end a run of either condition, with the evidence of
 * the run's windows. Each condition counts its own K windows in a row (a drifted window between
 * two flagged ones makes no quality run); where both end a run in one window, the evidence of
 * their windows is merged by window.
 */
function segmentRuns(
  rule: SegmentRule,
  stream: readonly StoredSegmentWindow[],
): { window: StoredSegmentWindow; windows: Evidence[] }[] {
  const ends = new Map<string, { window: StoredSegmentWindow; byStart: Map<string, Evidence> }>();
  for (const { k, held } of conditions(rule)) {
    for (const run of consecutiveRuns(stream, k, held)) {
      const id = `${run.window.version}\u0000${run.window.start}`;
      const end = ends.get(id) ?? { window: run.window, byStart: new Map<string, Evidence>() };
      for (const evidence of run.evidence) {
        const start = String(evidence['start']);
        end.byStart.set(start, { ...end.byStart.get(start), ...evidence });
      }
      ends.set(id, end);
    }
  }
  return [...ends.values()].map(({ window, byStart }) => ({
    window,
    windows: [...byStart.values()].sort(
      (a, b) => Date.parse(String(a['start'])) - Date.parse(String(b['start'])),
    ),
  }));
}

interface Breach {
  segment: string;
  /** Predictions of the segment in the firing window: the larger segments are listed first. */
  predictions: number;
  evidence: Record<string, unknown>;
}

/**
 * At most MAX_EVIDENCE_SEGMENTS breaches (those with the most predictions in the firing window,
 * ties by label), in the order found, and the count of the others.
 */
function listedSegments(breaches: readonly Breach[]): Record<string, unknown> {
  const ranked = [...breaches].sort(
    (a, b) => b.predictions - a.predictions || (a.segment < b.segment ? -1 : a.segment > b.segment ? 1 : 0),
  );
  const kept = new Set(ranked.slice(0, MAX_EVIDENCE_SEGMENTS));
  return {
    segments: breaches.filter((b) => kept.has(b)).map((b) => b.evidence),
    ...omitted('segments_omitted', breaches.length - kept.size),
  };
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
  const ends = new Map<string, { window: StoredSegmentWindow; breaches: Breach[] }>();
  for (const stream of streams.values()) {
    for (const run of segmentRuns(rule, stream)) {
      const id = `${run.window.version}\u0000${run.window.start}`;
      const end = ends.get(id) ?? { window: run.window, breaches: [] };
      const segment = segmentLabel(rule.segmentation, run.window);
      end.breaches.push({
        segment,
        predictions: run.window.predictions,
        evidence: {
          segment,
          value: run.window.value,
          other: run.window.other,
          ...latestWindows(run.windows),
        },
      });
      ends.set(id, end);
    }
  }
  return [...ends.values()].map(({ window, breaches }) => ({
    modelId,
    version: window.version,
    reason: 'segment',
    key: rule.segmentation,
    start: Date.parse(window.start),
    end: Date.parse(window.end),
    evidence: {
      condition: {
        segment: rule.segmentation,
        // The policy's field names (consecutive_windows), as the drift and quality triggers give them.
        ...(rule.drift ? { drift: driftCondition(rule.drift) } : {}),
        ...(rule.quality ? { quality: qualityCondition(rule.quality) } : {}),
      },
      segmentation: rule.segmentation,
      ...listedSegments(breaches),
    },
  }));
}
