import { metricsBench } from '../metrics/index.js';
import { metricsApiBench } from '../metrics/concurrency-bench.js';
import { ingestBench } from '../collectors/ingest-bench.js';
import { driftBench } from '../drift/index.js';
import type { Bench } from './bench.js';

export type { Bench } from './bench.js';

/** Every benchmark, by name (`modelwatch bench <name>`); each capability adds its own entry. */
export const benches: Record<string, Bench> = {
  ingest: ingestBench,
  metrics: metricsBench,
  'metrics-api': metricsApiBench,
  drift: driftBench,
};
