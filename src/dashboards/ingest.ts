import { RowBuilder, type DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { baseDashboard } from './base.js';
import { prom, timeseries } from './panels.js';

export const INGEST_UID = 'modelwatch-ingest';

/** Kafka → ClickHouse ingest health, from the service's own Prometheus metrics (SPEC 10). */
export function ingestDashboard(): DashboardBuilder {
  return baseDashboard(
    INGEST_UID,
    'modelwatch / ingest',
    'Kafka consumption, dead letters, consumer lag, ClickHouse batch writes and process resources of every modelwatch instance.',
  )
    .withRow(new RowBuilder('Kafka'))
    .withPanel(
      timeseries(
        {
          title: 'Messages consumed by topic and outcome',
          description:
            'Messages per second, by topic and outcome (stored or dead_letter), summed over instances.',
          unit: 'ops',
        },
        [prom('sum by (topic, outcome) (rate(modelwatch_messages_total[1m]))', '{{topic}} {{outcome}}')],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Dead letters by topic and reason',
          description:
            'Messages per second sent to the dead-letter topic (original bytes plus reason headers), by source topic and reason.',
          unit: 'ops',
        },
        [prom('sum by (topic, reason) (rate(modelwatch_dead_letter_total[5m]))', '{{topic}} {{reason}}')],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Consumer lag by partition',
          description:
            'Messages between the last consumed offset and the partition end. max over instances: after a rebalance the previous owner may still report the partition.',
          unit: 'short',
          width: 24,
        },
        [prom('max by (topic, partition) (modelwatch_consumer_lag)', '{{topic}}/{{partition}}')],
        { min: 0 },
      ),
    )
    .withRow(new RowBuilder('ClickHouse writes'))
    .withPanel(
      timeseries(
        {
          title: 'Batch write latency',
          description:
            'Time to write one batch to ClickHouse, retries during an outage included (p50, p95, p99 over 5 minutes).',
          unit: 's',
          width: 8,
        },
        [0.5, 0.95, 0.99].map((q) =>
          prom(
            `histogram_quantile(${q}, sum by (le) (rate(modelwatch_insert_seconds_bucket[5m])))`,
            `p${Math.round(q * 100)}`,
          ),
        ),
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Rows per batch',
          description: 'Messages per flushed batch: mean and p95 over 5 minutes.',
          unit: 'short',
          width: 8,
        },
        [
          prom(
            'sum(rate(modelwatch_batch_rows_sum[5m])) / sum(rate(modelwatch_batch_rows_count[5m]))',
            'mean',
          ),
          prom('histogram_quantile(0.95, sum by (le) (rate(modelwatch_batch_rows_bucket[5m])))', 'p95'),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'Batch write errors',
          description:
            'Failed batch writes per second. Each is retried, nothing is dropped; a steady rate means ClickHouse is unhealthy.',
          unit: 'ops',
          width: 8,
        },
        [prom('sum(rate(modelwatch_insert_errors_total[5m]))', 'errors')],
        { min: 0 },
      ),
    )
    .withRow(new RowBuilder('Process'))
    .withPanel(
      timeseries(
        {
          title: 'Memory',
          description:
            "Resident set size and V8 heap in use, per instance (prom-client default metrics, registered with the prefix 'modelwatch_').",
          unit: 'bytes',
        },
        [
          prom('modelwatch_process_resident_memory_bytes', 'RSS {{instance}}'),
          prom('modelwatch_nodejs_heap_size_used_bytes', 'heap used {{instance}}'),
        ],
        { min: 0 },
      ),
    )
    .withPanel(
      timeseries(
        {
          title: 'CPU',
          description: 'CPU time used per second (1 = one core busy), per instance.',
          unit: 'short',
        },
        [prom('rate(modelwatch_process_cpu_seconds_total[1m])', '{{instance}}')],
        { min: 0 },
      ),
    );
}
