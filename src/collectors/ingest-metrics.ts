import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Most (model, version) pairs given series of their own by one process. Both come from the events:
 * a producer that writes a build hash or a time as the version would otherwise add 17 series an
 * event (two counters and a histogram) to /metrics and to Prometheus, without bound.
 * @default 1000
 */
export const MAX_VERSION_SERIES = 1_000;

/** The labels of a version's series: its own among the first `max` pairs, else its model's (or any model's) `other`. */
export function versionSeries(max = MAX_VERSION_SERIES) {
  const pairs = new Set<string>();
  const models = new Set<string>();
  return (model: string, version: string): { model: string; version: string } => {
    const key = `${model}\0${version}`;
    if (pairs.has(key)) return { model, version };
    if (pairs.size < max) {
      pairs.add(key);
      models.add(model);
      return { model, version };
    }
    return { model: models.has(model) ? model : OTHER, version: OTHER };
  };
}

const OTHER = 'other';

/** SPEC 10 ingest and live model metrics, registered on the registry the caller owns. */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    versionLabels: versionSeries(),
    messages: new Counter({
      name: 'modelwatch_messages_total',
      help: 'Kafka messages consumed, by topic and outcome (stored or dead_letter)',
      labelNames: ['topic', 'outcome'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: 'modelwatch_dead_letter_total',
      help: 'Messages sent to the dead-letter topic, by source topic and reason',
      labelNames: ['topic', 'reason'] as const,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'modelwatch_consumer_lag',
      help: "Messages between the consumer group's committed offset and the partition end (not yet stored)",
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'modelwatch_insert_seconds',
      help: 'Time to write one batch to ClickHouse, retries during an outage included (not its offset commit)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchRows: new Histogram({
      name: 'modelwatch_batch_rows',
      help: 'Messages per flushed batch',
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000],
      registers,
    }),
    insertErrors: new Counter({
      name: 'modelwatch_insert_errors_total',
      help: 'Failed batch writes (each is retried; nothing is dropped)',
      registers,
    }),
    predictionLatency: new Histogram({
      name: 'modelwatch_prediction_latency_seconds',
      help: 'Serving latency reported by predictions (latency_ms), by model and version',
      labelNames: ['model', 'version'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    predictions: new Counter({
      name: 'modelwatch_predictions_total',
      help: 'Predictions stored, by model and version',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    predictionErrors: new Counter({
      name: 'modelwatch_prediction_errors_total',
      help: "Predictions with status=error, by model and version (0 from the version's first stored predictions)",
      labelNames: ['model', 'version'] as const,
      registers,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
