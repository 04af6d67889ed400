import type { Migration } from '../platform/clickhouse/index.js';

/**
 * `audit_events`: one row per chained record. `record` is the JCS text that was hashed; the
 * columns after it are copies extracted for compliance queries, and verification checks they
 * still match the record. ReplacingMergeTree on (chain, position): a retried insert of the same
 * row collapses with its first copy. Verification reads without FINAL, so a second, different
 * row at one position (a forged insertion or a fork) is seen before any merge hides it.
 */
export const auditMigrations: Migration[] = [
  {
    version: 100,
    name: 'audit_events: hash-chained audit records',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS audit_events${onCluster} (
        chain String,
        position UInt64,
        prev_hash String,
        hash String,
        record String,
        kind LowCardinality(String),
        at DateTime64(3, 'UTC'),
        principal String,
        action LowCardinality(String),
        resource_type LowCardinality(String),
        resource_id String,
        model_id String,
        entity_id String,
        outcome LowCardinality(String),
        source_offset Int64 DEFAULT -1,
        written_at DateTime64(3, 'UTC') DEFAULT now64(3),
        INDEX idx_at at TYPE minmax GRANULARITY 1,
        INDEX idx_principal principal TYPE bloom_filter GRANULARITY 4,
        INDEX idx_entity entity_id TYPE bloom_filter GRANULARITY 4,
        INDEX idx_model model_id TYPE bloom_filter GRANULARITY 4
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (chain, position)`,
    ],
  },
  {
    version: 101,
    name: 'audit_anchors and legal_holds: retention that leaves the rest verifiable',
    statements: ({ onCluster, engine }) => [
      // One row per prefix deletion: where the remaining chain resumes. Never deleted itself.
      `CREATE TABLE IF NOT EXISTS audit_anchors${onCluster} (
        chain String,
        through_position UInt64,
        through_hash String,
        cutoff DateTime64(3, 'UTC'),
        deleted_rows UInt64,
        deleted_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (chain, through_position)`,
      // The latest revision per model wins: set (held) or released.
      `CREATE TABLE IF NOT EXISTS legal_holds${onCluster} (
        model_id String,
        held Bool,
        reason String,
        principal String,
        at DateTime64(3, 'UTC'),
        revision UInt64
      ) ENGINE = ${engine('ReplacingMergeTree', 'revision')}
      ORDER BY model_id`,
    ],
  },
  {
    version: 102,
    name: 'audit_outbox: records of changes the CLI made, waiting for a service to send them',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS audit_outbox${onCluster} (
        id String,
        record String,
        queued_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('MergeTree')}
      ORDER BY (queued_at, id)`,
    ],
  },
];
