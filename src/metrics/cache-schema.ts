import type { Migration } from '../platform/clickhouse/index.js';
import { bucketSql } from '../platform/time/index.js';

/**
 * The per-bucket result cache of the metrics route (issue 17). See README, "The bucket cache".
 *
 * - `metrics_insert_counts`: rows inserted per (model, minute of the prediction's event time)
 *   into `predictions` and into `labeled_predictions`, summed by SummingMergeTree. Only inserts
 *   change it, and every insert does (redeliveries, corrections, the read-time sweep): a bucket
 *   whose sums are unchanged since its result was cached holds the same rows under FINAL.
 * - `metrics_bucket_cache`: one finished result row per (model, bucket size, version, bucket
 *   start), with the sums it was computed from and a hash of the query that computed it.
 */

/** The minute of `column` (a DateTime64), as `bucketSql` would bucket it. */
const minuteOf = (column: string) =>
  `fromUnixTimestamp64Milli(toInt64(${bucketSql({ text: '1m', size: 60_000, origin: 0 }, column)}), 'UTC')`;

export const cacheMigrations: Migration[] = [
  {
    version: 51,
    name: 'metrics bucket cache: inserted rows per model and minute, and cached bucket results',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS metrics_insert_counts${onCluster} (
        model_id LowCardinality(String),
        minute DateTime64(3, 'UTC'),
        predictions UInt64,
        labeled UInt64
      ) ENGINE = ${engine('SummingMergeTree')}
      ORDER BY (model_id, minute)`,
      `CREATE TABLE IF NOT EXISTS metrics_bucket_cache${onCluster} (
        model_id String,
        bucket LowCardinality(String),
        model_version String,
        start_ms Int64,
        -- The query that computed it (its hash: task, positive class, SQL): a change recomputes.
        query_hash String,
        -- Inserted rows of the bucket when it was computed (metrics_insert_counts), and mutations.
        fingerprint String,
        -- The result row as JSON; '' when the version had no prediction in the bucket.
        row String,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree', 'written_at')}
      ORDER BY (model_id, bucket, model_version, start_ms)
      TTL toDateTime(written_at) + INTERVAL 35 DAY`,
      // Views first, then the rows already stored: an insert in between is counted twice, which
      // only makes the sums larger (they need to change on inserts, not to be exact counts).
      `CREATE MATERIALIZED VIEW IF NOT EXISTS metrics_insert_counts_predictions_mv${onCluster} TO metrics_insert_counts AS
      SELECT model_id, ${minuteOf('timestamp')} AS minute, count() AS predictions, toUInt64(0) AS labeled
      FROM predictions GROUP BY model_id, minute`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS metrics_insert_counts_labeled_mv${onCluster} TO metrics_insert_counts AS
      SELECT model_id, ${minuteOf('timestamp')} AS minute, toUInt64(0) AS predictions, count() AS labeled
      FROM labeled_predictions GROUP BY model_id, minute`,
      // A rerun after a crash counts them again: harmless, as above.
      `INSERT INTO metrics_insert_counts
        SELECT model_id, ${minuteOf('timestamp')} AS minute, count(), 0 FROM predictions GROUP BY model_id, minute`,
      `INSERT INTO metrics_insert_counts
        SELECT model_id, ${minuteOf('timestamp')} AS minute, 0, count() FROM labeled_predictions GROUP BY model_id, minute`,
    ],
  },
];
