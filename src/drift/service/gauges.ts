import { Counter, Gauge, type Registry } from 'prom-client';
import type { DriftBucket } from '../engine/types.js';

export interface DriftGauges {
  /** Shows a model's latest evaluated window, replacing the series of the window before. */
  show(modelId: string, bucket: DriftBucket): void;
  evaluated(modelId: string, windows: number): void;
  /** One failed evaluation of a model (the loop goes on with the next model). */
  failed(modelId: string): void;
}

/** SPEC 10 gauges on the injected registry (bounded labels: model, column, method). */
export function createDriftGauges(registry: Registry): DriftGauges {
  const statistic = new Gauge({
    name: 'modelwatch_drift_statistic',
    help: "Drift statistic of each column in the model's latest evaluated window (chi2 with a category unseen in the reference: +Inf)",
    labelNames: ['model', 'column', 'method'],
    registers: [registry],
  });
  const pValue = new Gauge({
    name: 'modelwatch_drift_p_value',
    help: "p-value of each tested column (ks, chi2) in the model's latest evaluated window",
    labelNames: ['model', 'column', 'method'],
    registers: [registry],
  });
  const dataset = new Gauge({
    name: 'modelwatch_dataset_drift',
    help: "1 when the model's latest evaluated window has dataset drift (share of drifted features at or above the threshold), else 0",
    labelNames: ['model'],
    registers: [registry],
  });
  const share = new Gauge({
    name: 'modelwatch_drift_share',
    help: "Share of drifted feature columns in the model's latest evaluated window",
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
  const shown = new Map<string, { column: string; method: string }[]>();
  return {
    show(model, bucket) {
      for (const labels of shown.get(model) ?? []) {
        statistic.remove({ model, ...labels });
        pValue.remove({ model, ...labels });
      }
      const now: { column: string; method: string }[] = [];
      for (const c of bucket.columns) {
        const labels = { model, column: c.column, method: c.method };
        // A column without values in the window has no series rather than a made-up value.
        if (c.statistic !== null) statistic.set(labels, c.statistic);
        else if (c.p_value !== null) statistic.set(labels, Number.POSITIVE_INFINITY);
        else continue;
        if (c.p_value !== null) pValue.set(labels, c.p_value);
        now.push({ column: c.column, method: c.method });
      }
      shown.set(model, now);
      dataset.set({ model }, bucket.dataset_drift ? 1 : 0);
      share.set({ model }, bucket.drift_share);
      bucketEnd.set({ model }, Date.parse(bucket.end) / 1000);
    },
    evaluated(model, n) {
      windows.inc({ model }, n);
    },
    failed(model) {
      errors.inc({ model });
    },
  };
}
