import type { Migration } from '../../platform/clickhouse/index.js';

/**
 * Drift tables (migration versions 20-29 belong to drift).
 * - `drift_reference_values`: the reference sample itself, one row per column and part ('number':
 *   the sorted finite numbers; 'text': categories and counts), under the revision that wrote it.
 * - `drift_references`: one row per column of a reference revision: what SPEC 5 fixes when a
 *   reference is set (kind, n, bin edges and counts, std, categories). A revision exists for
 *   readers once its rows are here (they are written last, in one insert).
 * - `drift_results`: the evaluated windows, one row per window and column, keyed by model,
 *   version, window start and column, so replays, restarts and several instances write the same
 *   rows (ReplacingMergeTree keeps one).
 * - `model_policies`: a model's policy as JSON sections (`drift`, later `retrain`), latest revision
 *   wins. Read until migration 22; kept, no longer written.
 * - `model_policy_sections` (22): one row per model and section, the latest revision of each wins,
 *   so two PUTs of different sections at once both stay (one row for the whole policy lost one).
 */
export const driftMigrations: Migration[] = [
  {
    version: 20,
    name: 'drift: reference values and summaries, window results, model policies',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS drift_reference_values${onCluster} (
        model_id String,
        model_version String,
        revision UInt64,
        role LowCardinality(String),
        column String,
        part LowCardinality(String),
        numbers Array(Float64),
        texts Array(String),
        counts Array(UInt64)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, model_version, revision, role, column, part)`,
      `CREATE TABLE IF NOT EXISTS drift_references${onCluster} (
        model_id String,
        model_version String,
        revision UInt64,
        role LowCardinality(String),
        column String,
        value_type LowCardinality(String),
        kind LowCardinality(String),
        n UInt64,
        nulls UInt64,
        distinct UInt64,
        std Float64,
        edges Array(Float64),
        bin_counts Array(UInt64),
        categories Array(String),
        category_counts Array(UInt64),
        source LowCardinality(String),
        range_from Nullable(DateTime64(3, 'UTC')),
        range_to Nullable(DateTime64(3, 'UTC')),
        rows UInt64,
        set_at DateTime64(3, 'UTC'),
        set_by String
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, model_version, revision, role, column)`,
      `CREATE TABLE IF NOT EXISTS drift_results${onCluster} (
        model_id String,
        model_version String,
        window_start DateTime64(3, 'UTC'),
        window_end DateTime64(3, 'UTC'),
        role LowCardinality(String),
        column String,
        kind LowCardinality(String),
        method LowCardinality(String),
        statistic Nullable(Float64),
        p_value Nullable(Float64),
        threshold Float64,
        drifted Bool,
        values UInt64,
        count UInt64,
        drift_share Float64,
        dataset_drift Bool,
        reference_revision UInt64,
        evaluated_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = ${engine('ReplacingMergeTree')}
      PARTITION BY toYYYYMM(window_start)
      ORDER BY (model_id, model_version, window_start, role, column)`,
      `CREATE TABLE IF NOT EXISTS model_policies${onCluster} (
        model_id String,
        policy String,
        revision UInt64,
        updated_by String,
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'revision')}
      ORDER BY model_id`,
    ],
  },
  {
    version: 22,
    name: 'drift: model policies stored one row per section',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS model_policy_sections${onCluster} (
        model_id String,
        section String,
        body String,
        revision UInt64,
        updated_by String,
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'revision')}
      ORDER BY (model_id, section)`,
      `INSERT INTO model_policy_sections
        SELECT model_id, s.1, s.2, revision, updated_by, updated_at
        FROM model_policies FINAL ARRAY JOIN JSONExtractKeysAndValuesRaw(policy) AS s`,
    ],
  },
];
