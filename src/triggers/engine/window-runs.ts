/**
 * The K-consecutive-windows search shared by the window conditions (drift, data quality): a
 * window ends a run when the condition held in it and in the K−1 windows right before it, for one
 * version. Consecutive means adjacent in time: a window without predictions (not stored) breaks
 * the run.
 */

/** A stored evaluation window of one model version, times as ISO strings. */
export interface VersionedWindow {
  version: string;
  start: string;
  end: string;
}

/** A window that ends a run, with the evidence of each window of the run, oldest first. */
export interface RunEnd<W> {
  window: W;
  evidence: Record<string, unknown>[];
}

/**
 * Every window of `windows` (one model, any versions, any order) that ends a run of `k` adjacent
 * windows of one version for which `held` returned evidence.
 */
export function consecutiveRuns<W extends VersionedWindow>(
  windows: readonly W[],
  k: number,
  held: (window: W) => Record<string, unknown> | undefined,
): RunEnd<W>[] {
  const byVersion = new Map<string, W[]>();
  for (const w of windows) byVersion.set(w.version, [...(byVersion.get(w.version) ?? []), w]);
  const out: RunEnd<W>[] = [];
  for (const list of byVersion.values()) {
    list.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    let run: { window: W; evidence: Record<string, unknown> }[] = [];
    for (const w of list) {
      const evidence = held(w);
      if (!evidence) {
        run = [];
        continue;
      }
      const adjacent = run.at(-1)?.window.end === w.start;
      run = adjacent ? [...run, { window: w, evidence }].slice(-k) : [{ window: w, evidence }];
      if (run.length === k) out.push({ window: w, evidence: run.map((r) => r.evidence) });
    }
  }
  return out;
}
