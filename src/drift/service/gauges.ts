import { Counter, Gauge, type Registry } from 'prom-client';
import type { ColumnDrift, DriftBucket } from '../engine/types.js';
import type { VersionKey } from '../store/references.js';

export interface DriftGauges {
  /**
   * Shows a version's newest evaluated window. The model's series combine the versions whose newest
   * window ends last (see `NewestWindows`); an older window is ignored.
   */
  show(key: VersionKey, bucket: DriftBucket): void;
  /** Whether the version's window ending at `end` is shown or older than the shown ones (showing it changes nothing). */
  shows(key: VersionKey, end: number): boolean;
  evaluated(modelId: string, windows: number): void;
  /** One failed evaluation of a model (the loop goes on with the next model). */
  failed(modelId: string): void;
}

/**
 * Each version's newest window per gauge key (a model, or a model and segmentation), keeping only
 * the versions whose window ends last. SPEC 10's labels have no version, so the gauges show the
 * worst of these: during a canary or A/B rollout both versions' windows end together, and a
 * drifted one must not be hidden by whichever version string sorts last. A version that stops
 * taking traffic drops out once another version's newer window arrives.
 */
export class NewestWindows<T> {
  private readonly byKey = new Map<string, { end: number; versions: Map<string, T> }>();

  /** False when the window ends before the shown ones (nothing changed). */
  offer(key: string, version: string, end: number, window: T): boolean {
    const shown = this.byKey.get(key);
    if (shown && end < shown.end) return false;
    if (shown && end === shown.end) shown.versions.set(version, window);
    else this.byKey.set(key, { end, versions: new Map([[version, window]]) });
    return true;
  }

  /** Whether `version`'s window ending at `end` is shown or older than the shown ones (offering it changes nothing). */
  shows(key: string, version: string, end: number): boolean {
    const shown = this.byKey.get(key);
    if (!shown) return false;
    return end < shown.end || (end === shown.end && shown.versions.has(version));
  }

  /** The windows that end last, one per version. */
  latest(key: string): T[] {
    return [...(this.byKey.get(key)?.versions.values() ?? [])];
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

/** The statistic shown for a column: chi2 with a category unseen in the reference (no statistic, p 0) is +Inf. */
function shownStatistic(c: ColumnDrift): number | null {
  if (c.statistic !== null) return c.statistic;
  return c.p_value !== null ? Number.POSITIVE_INFINITY : null;
}

/**
 * SPEC 10 gauges on the injected registry (bounded labels: model, column, method). Per model they
 * show the worst of the versions whose newest window ends last: dataset drift if any of them
 * drifted, the highest drift share and statistic, the lowest p-value.
 */
export function createDriftGauges(registry: Registry): DriftGauges {
  const statistic = new Gauge({
    name: 'modelwatch_drift_statistic',
    help: "Drift statistic of each column in the model's latest evaluated window, the highest over the versions whose window ends last (chi2 with a category unseen in the reference: +Inf)",
    labelNames: ['model', 'column', 'method'],
    registers: [registry],
  });
  const pValue = new Gauge({
    name: 'modelwatch_drift_p_value',
    help: "p-value of each tested column (ks, chi2) in the model's latest evaluated window, the lowest over the versions whose window ends last",
    labelNames: ['model', 'column', 'method'],
    registers: [registry],
  });
  const dataset = new Gauge({
    name: 'modelwatch_dataset_drift',
    help: "1 when the model's latest evaluated window has dataset drift (share of drifted features at or above the threshold) in any version whose window ends last, else 0",
    labelNames: ['model'],
    registers: [registry],
  });
  const share = new Gauge({
    name: 'modelwatch_drift_share',
    help: "Share of drifted feature columns in the model's latest evaluated window, the highest over the versions whose window ends last",
    labelNames: ['model'],
    registers: [registry],
  });
  const bucketEnd = new Gauge({
    name: 'modelwatch_drift_window_end_seconds',
    help: "End of the model's latest evaluated drift window (Unix seconds): alert when it falls behind",
    labelNames: ['model'],
    registers: [registry],
  });
  const windows = new Counter({
    name: 'modelwatch_drift_windows_evaluated_total',
    help: 'Drift evaluation windows evaluated and stored',
    labelNames: ['model'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'modelwatch_drift_evaluation_errors_total',
    help: 'Drift evaluations of a model that failed (logged at error level; retried next run, other models unaffected)',
    labelNames: ['model'],
    registers: [registry],
  });
  const newest = new NewestWindows<DriftBucket>();
  const shown = new Map<string, { column: string; method: string }[]>();
  return {
    show({ modelId: model, version }, bucket) {
      if (!newest.offer(model, version, Date.parse(bucket.end), bucket)) return;
      for (const labels of shown.get(model) ?? []) {
        statistic.remove({ model, ...labels });
        pValue.remove({ model, ...labels });
      }
      const latest = newest.latest(model);
      const worst = new Map<
        string,
        { column: string; method: string; statistic: number; pValue: number | null }
      >();
      for (const c of latest.flatMap((b) => b.columns)) {
        // A column without values in the window has no series rather than a made-up value.
        const value = shownStatistic(c);
        if (value === null) continue;
        const id = `${c.column}\u0000${c.method}`;
        const before = worst.get(id);
        const p = c.p_value;
        worst.set(id, {
          column: c.column,
          method: c.method,
          statistic: Math.max(value, before?.statistic ?? -Infinity),
          pValue: p === null ? (before?.pValue ?? null) : Math.min(p, before?.pValue ?? Infinity),
        });
      }
      for (const w of worst.values()) {
        const labels = { model, column: w.column, method: w.method };
        statistic.set(labels, w.statistic);
        if (w.pValue !== null) pValue.set(labels, w.pValue);
      }
      shown.set(
        model,
        [...worst.values()].map(({ column, method }) => ({ column, method })),
      );
      dataset.set({ model }, latest.some((b) => b.dataset_drift) ? 1 : 0);
      share.set({ model }, Math.max(...latest.map((b) => b.drift_share)));
      bucketEnd.set({ model }, Date.parse(bucket.end) / 1000);
    },
    shows({ modelId, version }, end) {
      return newest.shows(modelId, version, end);
    },
    evaluated(model, n) {
      windows.inc({ model }, n);
    },
    failed(model) {
      errors.inc({ model });
    },
  };
}
