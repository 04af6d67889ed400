import type { Migration } from '../platform/clickhouse/index.js';

/**
 * `model_versions`, owned here. It was created by migration 1 with the ingest tables until the
 * capabilities split; a database that ran that keeps its table (IF NOT EXISTS).
 */
export const modelMigrations: Migration[] = [
  {
    version: 5,
    name: 'model_versions (registry)',
    statements: ({ onCluster, engine }) => [
      // revision 0 or 1 = seen in traffic (task inferred; README, "Versions seen in traffic"); an API
      // change writes a larger revision and wins.
      `CREATE TABLE IF NOT EXISTS model_versions${onCluster} (
        model_id String,
        model_version String,
        task LowCardinality(String),
        task_source LowCardinality(String),
        positive_class String DEFAULT '1',
        stage LowCardinality(String) DEFAULT 'production',
        first_seen DateTime64(3, 'UTC'),
        artifact_sha256 String DEFAULT '',
        training_data_uri String DEFAULT '',
        training_data_sha256 String DEFAULT '',
        feature_schema String DEFAULT '{}',
        revision UInt64
      ) ENGINE = ${engine('ReplacingMergeTree', 'revision')}
      ORDER BY (model_id, model_version)`,
    ],
  },
  {
    // 40: clear of the numbers other capabilities took (drift 20, audit 100) and may take next.
    version: 40,
    name: 'model_artifacts (registered ONNX artifacts)',
    // Keyed by the artifact's hash too: a version's bytes never change under one hash.
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS model_artifacts${onCluster} (
        model_id String,
        model_version String,
        sha256 String,
        base64 String CODEC(ZSTD(3)),
        stored_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'stored_at')}
      ORDER BY (model_id, model_version, sha256)`,
    ],
  },
];
