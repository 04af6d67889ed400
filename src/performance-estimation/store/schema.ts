import type { Migration } from '../../platform/clickhouse/index.js';

/**
 * Performance-estimation tables (migration versions 60-69 belong to it).
 * - `cbpe_calibrator_fits`: per model version and drift reference revision, the newest fit
 *   (ReplacingMergeTree versioned by `fitted_at`): the reference period, the fingerprint of the
 *   labeled reference rows it was fitted on, NannyML's calibration decision with its evidence, and
 *   the isotonic calibrator (thresholds and values, empty when calibration is not used). A fit
 *   is replaced when labels of the reference period land or change (the fingerprint differs), so
 *   instances that fitted at different label states converge on the newest fit. It replaces
 *   `cbpe_calibrators` (migration 60: no fingerprint, no version column), which is no longer read
 *   and is left in place so that a rollback finds it.
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
  {
    version: 61,
    name: 'performance estimation: calibrators refitted as reference labels land (fingerprint, newest fit wins)',
    statements: ({ onCluster, engine }) => [
      `CREATE TABLE IF NOT EXISTS cbpe_calibrator_fits${onCluster} (
        model_id String,
        model_version String,
        revision UInt64,
        range_from DateTime64(3, 'UTC'),
        range_to DateTime64(3, 'UTC'),
        rows UInt64,
        positives UInt64,
        fingerprint String,
        calibrated Bool,
        reason LowCardinality(String),
        ece_before Nullable(Float64),
        ece_after Nullable(Float64),
        thresholds Array(Float64),
        values Array(Float64),
        fitted_at DateTime64(3, 'UTC')
      ) ENGINE = ${engine('ReplacingMergeTree', 'fitted_at')}
      ORDER BY (model_id, model_version, revision)`,
    ],
  },
];
