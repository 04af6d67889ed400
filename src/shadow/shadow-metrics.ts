import { Counter, Histogram, type Registry } from 'prom-client';

/** Shadow scoring's Prometheus metrics (SPEC 10 prefix), on the registry the caller owns. */
export function createShadowMetrics(registry: Registry) {
  const registers = [registry];
  return {
    scored: new Counter({
      name: 'modelwatch_shadow_scored_total',
      help: 'Predictions scored by a challenger, by model and challenger version',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    failures: new Counter({
      name: 'modelwatch_shadow_failures_total',
      help: "Predictions a challenger failed to score, by model, challenger version and reason (a bad-row reason or the error's code)",
      labelNames: ['model', 'version', 'reason'] as const,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'modelwatch_shadow_batch_seconds',
      help: 'Time for one challenger to score one batch',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    }),
  };
}

export type ShadowMetrics = ReturnType<typeof createShadowMetrics>;
