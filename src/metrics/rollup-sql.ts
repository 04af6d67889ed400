import type { Task } from '../models/index.js';
import { bucketSql } from '../platform/time/index.js';
import {
  finiteOrNull,
  metricColumns,
  norm,
  QUALITY_AGGREGATES,
  rowColumns,
  SERVING_AGGREGATES,
  type MetricsQuery,
  type MetricsQueryInput,
} from './metrics-sql.js';

/**
 * The metrics query over the pre-joined table (issue 17): the serving half from `predictions
 * FINAL` (exact percentiles need every latency, and it is the cheap half), the quality half from
 * `labeled_predictions FINAL`, the two joined on (version, bucket): a few hundred rows, not 10M.
 * The aggregates and final metrics are the raw query's own fragments, so both paths compute the
 * SPEC 4 definitions with the same SQL; the rows differ only in where the label comes from.
 */

/** A time range [from, to) in epoch ms. */
export interface TimeRange {
  from: number;
  to: number;
}

/** The rows of the model's versions in range; within `ranges` too when given (the buckets to recompute). */
function rangeSql(ranges: readonly TimeRange[] | undefined): string {
  const within = (ranges ?? [])
    .map(
      (_, i) => `(timestamp >= fromUnixTimestamp64Milli({r${i}_from:Int64}, 'UTC')
          AND timestamp < fromUnixTimestamp64Milli({r${i}_to:Int64}, 'UTC'))`,
    )
    .join('\n        OR ');
  return `model_id = {model:String}
        AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
        AND model_version IN {versions:Array(String)}${within ? `\n        AND (${within})` : ''}`;
}

function rangeParams(ranges: readonly TimeRange[] | undefined): Record<string, number> {
  return Object.fromEntries(
    (ranges ?? []).flatMap((r, i) => [
      [`r${i}_from`, r.from],
      [`r${i}_to`, r.to],
    ]),
  );
}

const POSITIVE_CLASS = `transform(model_version, {versions:Array(String)}, {positive_classes:Array(String)}, '1') AS positive_class`;

/** The model's labeled predictions in range, one per prediction (the winning label), as rows of `rowColumns`. */
function labeledRows(input: RollupInput): string {
  return `SELECT
      p.model_version AS model_version,
      ${bucketSql(input.bucket, 'p.timestamp')} AS bucket_key,
      true AS has_label,
      ${rowColumns(input.task, 'p').join(',\n      ')}
    FROM
    (
      SELECT model_version, timestamp, prediction, ${finiteOrNull('prediction_num')}, ${finiteOrNull('score')},
             label, ${finiteOrNull('label_num')}, ${POSITIVE_CLASS}
      FROM labeled_predictions FINAL
      WHERE ${rangeSql(input.ranges)}
    ) AS p`;
}

/** Quality aggregates per (version, bucket), the raw query's own. */
function qualityHalf(task: Task, rows: string): string {
  return `
  SELECT model_version AS version, bucket_key, count() AS labeled, ${QUALITY_AGGREGATES[task].join(', ')}
  FROM (${rows})
  GROUP BY version, bucket_key`;
}

type RollupInput = Omit<MetricsQueryInput, 'prefilterLabels' | 'source'> & {
  /** Only these parts of [from, to) (whole buckets; the bucket cache's misses). @default all of it */
  ranges?: readonly TimeRange[];
};

export function rollupMetricsQuery(input: RollupInput): MetricsQuery {
  const bucket = (column: string) => bucketSql(input.bucket, column);
  const query = `
SELECT
  version,
  toInt64(bucket_key) AS start_ms,
  count,
  errors,
  latency_q,
  latency_max,
  labeled,
  ${metricColumns(input.task)}
FROM
(
  SELECT
    model_version AS version,
    ${bucket('timestamp')} AS bucket_key,
    count() AS count,
    countIf(is_error) AS errors,
    quantilesExactInclusive(0.5, 0.95, 0.99)(latency_ms) AS latency_q,
    max(latency_ms) AS latency_max
    ${SERVING_AGGREGATES[input.task].map((a) => `, ${a}`).join('')}
  FROM
  (
    SELECT model_version, timestamp, ${finiteOrNull('latency_ms')}, is_error, ${POSITIVE_CLASS},
           ${norm('prediction')} = positive_class AS pred_pos
    FROM predictions FINAL
    WHERE ${rangeSql(input.ranges)}
  ) AS p
  GROUP BY version, bucket_key
) AS s
LEFT JOIN
(${qualityHalf(input.task, labeledRows(input))}) AS q USING (version, bucket_key)
ORDER BY start_ms, version
SETTINGS join_use_nulls = 0`;
  return {
    query,
    params: {
      model: input.model,
      versions: input.versions.map((v) => v.version),
      positive_classes: input.versions.map((v) => v.positiveClass),
      from: input.from,
      to: input.to,
      ...rangeParams(input.ranges),
    },
  };
}
