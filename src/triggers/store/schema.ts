import type { Migration } from '../../platform/clickhouse/index.js';

/**
 * Retrain trigger tables (migration versions 30-39 belong to the triggers).
 * - `retrain_triggers`: the outbox and the record. A firing is written here first, then
 *   published. Keyed by model and trigger_id (derived from model, version, reason and window), so
 *   a firing found again by a restart, a replay or a second instance is the same row. When two
 *   instances race, `keep` (larger for the earlier `created_at`) makes the first one win.
 * - `retrain_trigger_deliveries`: one row per trigger once it is on the topic (partition, offset),
 *   written after the broker acknowledged it, or when the publisher finds it on the topic.
 * - `retrain_trigger_audits` (32; 31 is drift's): one row per trigger once its audit record was
 *   acknowledged. A delivered trigger without one is audited again on the next pass.
 * - `retrain_trigger_refusals` (33): one row per trigger the broker refused as too large; the
 *   publisher does not send it again while the row is there (README.md, "Failures").
 */
export const triggerMigrations: Migration[] = [
  {
    version: 30,
    name: 'triggers: retrain trigger outbox and deliveries',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS retrain_triggers${onCluster} (
        trigger_id String,
        model_id String,
        model_version String,
        reason LowCardinality(String),
        window_start DateTime64(3, 'UTC'),
        window_end DateTime64(3, 'UTC'),
        payload String,
        created_at DateTime64(3, 'UTC'),
        keep UInt64
      ) ENGINE = ${engine('ReplacingMergeTree', 'keep')}
      ORDER BY (model_id, trigger_id)`,
      `CREATE TABLE IF NOT EXISTS retrain_trigger_deliveries${onCluster} (
        trigger_id String,
        model_id String,
        partition UInt32,
        offset Int64,
        published_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, trigger_id)`,
    ],
  },
  {
    version: 32,
    name: 'triggers: audited retrain triggers',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS retrain_trigger_audits${onCluster} (
        trigger_id String,
        model_id String,
        audited_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, trigger_id)`,
      // Triggers delivered before this table were audited right after their send (or lost for
      // good, which cannot be told now): not audited a second time. A rerun writes the same keys.
      `INSERT INTO retrain_trigger_audits (trigger_id, model_id, audited_at)
       SELECT trigger_id, model_id, published_at FROM retrain_trigger_deliveries`,
    ],
  },
  {
    version: 33,
    name: 'triggers: retrain triggers refused as too large',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS retrain_trigger_refusals${onCluster} (
        trigger_id String,
        model_id String,
        partition UInt32,
        bytes UInt64,
        error String,
        refused_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, trigger_id)`,
    ],
  },
];
