import { fewerMerges, type Migration } from '../platform/clickhouse/index.js';

/**
 * `shadow_scores`: one row per (model, challenger version, prediction), beside `predictions`.
 * Effectively once like the ingest tables: a ReplacingMergeTree whose sorting key ends in the
 * prediction's event time and id, so a replayed prediction (same id and event time) collapses
 * with its first score; reads use FINAL. The production side (version, prediction, score) is
 * copied from the event, so the report needs no join with `predictions`.
 */
export const shadowMigrations: Migration[] = [
  {
    version: 41,
    name: 'shadow_scores (challenger outputs beside production)',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS shadow_scores${onCluster} (
        model_id LowCardinality(String),
        challenger_version LowCardinality(String),
        prediction_id String,
        timestamp DateTime64(3, 'UTC'),
        production_version LowCardinality(String),
        production_prediction String,
        production_score Nullable(Float64),
        label String,
        score Nullable(Float64),
        failed Bool,
        failure LowCardinality(String),
        scored_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree', 'scored_at')}
      PARTITION BY toYYYYMM(timestamp)
      ORDER BY (model_id, challenger_version, timestamp, prediction_id)`,
    ],
  },
  {
    version: 42,
    name: 'shadow_progress (each challenger’s cursor on predictions.ingested_at)',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS shadow_progress${onCluster} (
        model_id String,
        challenger_version String,
        ingested_to DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'updated_at')}
      ORDER BY (model_id, challenger_version)`,
    ],
  },
  {
    version: 43,
    name: 'predictions: minmax index on ingested_at (the shadow feed reads by insert time)',
    // New parts get it; older parts are read whole once, by a challenger's first batches.
    statements: ({ onCluster }) => [
      `ALTER TABLE predictions${onCluster} ADD INDEX IF NOT EXISTS idx_ingested_at ingested_at TYPE minmax GRANULARITY 1`,
    ],
  },
  {
    version: 44,
    name: 'shadow_leases (which instance scores which slot of a challenger)',
    // One row per (slot, instance): the earliest unexpired claim owns the slot (leases.ts).
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS shadow_leases${onCluster} (
        model_id String,
        challenger_version String,
        slot UInt16,
        holder String,
        taken_at DateTime64(3, 'UTC'),
        expires_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'updated_at')}
      ORDER BY (model_id, challenger_version, slot, holder)
      TTL toDateTime(expires_at) + INTERVAL 1 DAY`,
    ],
  },
  {
    version: 45,
    name: 'shadow_slot_progress (each challenger’s cursor per work-sharing slot)',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS shadow_slot_progress${onCluster} (
        model_id String,
        challenger_version String,
        slot UInt16,
        ingested_to DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'updated_at')}
      ORDER BY (model_id, challenger_version, slot)`,
    ],
  },
  {
    version: 46,
    name: 'shadow_scores: fewer merges (each row rewritten fewer times)',
    statements: ({ onCluster }) => [fewerMerges('shadow_scores', onCluster)],
  },
];

/** Every column of `shadow_scores` in table order, for the embedded engine's file insert (`SELECT *`). */
export const SHADOW_SCORES_STRUCTURE = `model_id String, challenger_version String, prediction_id String,
  timestamp DateTime64(3, 'UTC'), production_version String, production_prediction String,
  production_score Nullable(Float64), label String, score Nullable(Float64), failed Bool, failure String,
  scored_at DateTime64(3, 'UTC')`;
