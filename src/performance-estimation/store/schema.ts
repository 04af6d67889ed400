import type { Migration } from '../../platform/clickhouse/index.js';

/**
 * Performance-estimation tables (migration versions 50-59 belong to it).
 * - `cbpe_calibrators`: one row per model version and drift reference revision: the reference
 *   period it was fitted on, NannyML's calibration decision with its evidence, and the isotonic
 *   calibrator (thresholds and values, empty when calibration is not used). Deterministic from
 *   the stored rows, so every instance that fits it writes the same row (ReplacingMergeTree keeps one).
 */
export const estimationMigrations: Migration[] = [
  {
    version: 60,
    name: 'performance estimation: CBPE calibrators per reference revision',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS cbpe_calibrators${onCluster} (
        model_id String,
        model_version String,
        revision UInt64,
        range_from DateTime64(3, 'UTC'),
        range_to DateTime64(3, 'UTC'),
        rows UInt64,
        positives UInt64,
        calibrated Bool,
        reason LowCardinality(String),
        ece_before Nullable(Float64),
        ece_after Nullable(Float64),
        thresholds Array(Float64),
        values Array(Float64),
        fitted_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree')}
      ORDER BY (model_id, model_version, revision)`,
    ],
  },
];
