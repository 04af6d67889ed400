import type { Task } from '../models/index.js';
import { bucketSql, type Bucket } from '../platform/time/index.js';

/**
 * The metrics query: one row per (version, bucket) for the versions of one task. Every piece
 * of user input travels as a query parameter; the fragments chosen here depend only on the
 * validated bucket name and the task.
 *
 * The join is on a 64-bit hash of prediction_id, about twice as fast as on the String (measured:
 * 10M predictions × 3M labels, 2.1 s CPU instead of 4.9 s); the ids themselves are compared
 * after the join, so a collision never attaches a wrong label. Only two labels whose ids collide
 * (probability about m²/2^65 for m labels: 2e-7 for 3M) would leave one prediction unlabeled.
 *
 * The labels are always the join's build side: with the predictions there instead (ClickHouse's
 * choice when a version filter makes it misjudge their number) the query took 5x as long
 * (10M predictions, 3M labels: 27 s CPU instead of 6 s). When the labels outnumber the
 * predictions in range, only theirs are read (a 1-day range among 3M labels: 0.8 s instead of 1.7 s).
 *
 * Effectively-once: predictions and labels are read with FINAL, so a redelivered prediction
 * (same model, event time and id) or label (same prediction id and model) counts once, and the label with
 * the latest event time wins. The bucket is the prediction's event time, so a late label
 * lands in the bucket its prediction belongs to, whenever it arrives (or if it came first).
 */

/**
 * One label per prediction id for the model {model}: its own label (`model_id` = the model) wins
 * over an unnamed one (`model_id` = ''); a label naming another model never applies. As a tuple,
 * since argMax skips a NULL argument and `label_num` is nullable.
 */
const LABEL_FOR_MODEL = `SELECT prediction_id, argMax((label, label_num), model_id != '') AS chosen`;

/** The column itself where it is finite, else NULL, under its own name. */
export const finiteOrNull = (column: string) => `if(isFinite(${column}), ${column}, NULL) AS ${column}`;

/** Normalized class text: booleans as their numeric classes, so `true` labels match `1` predictions. */
export const norm = (column: string) =>
  `multiIf(${column} = 'true', '1', ${column} = 'false', '0', ${column})`;

/** Aggregates per task over every prediction (labeled or not). */
export const SERVING_AGGREGATES: Record<Task, string[]> = {
  binary_classification: ['countIf(pred_pos) AS predicted_pos_'],
  multiclass_classification: [],
  regression: [],
};

/** Aggregates per task, as named columns over rows where `has_label` says whether a label joined. Names ending in `_` are intermediate. */
export const QUALITY_AGGREGATES: Record<Task, string[]> = {
  binary_classification: [
    'countIf(has_label AND pred_pos AND true_pos) AS tp_',
    'countIf(has_label AND pred_pos AND NOT true_pos) AS fp_',
    'countIf(has_label AND NOT pred_pos AND true_pos) AS fn_',
    // Scores paired with outcomes in one array, so the two can never be ordered differently.
    'groupArrayIf((assumeNotNull(score), true_pos), has_label AND score IS NOT NULL) AS scored_',
    'countIf(has_label AND score IS NOT NULL AND true_pos) AS scored_pos_',
    'countIf(has_label AND score IS NOT NULL AND NOT true_pos) AS scored_neg_',
  ],
  multiclass_classification: [
    'countIf(has_label AND pred_class = true_class) AS correct_',
    'sumMapIf(map(pred_class, toUInt64(1)), has_label) AS pred_counts_',
    'sumMapIf(map(true_class, toUInt64(1)), has_label) AS true_counts_',
    'sumMapIf(map(pred_class, toUInt64(1)), has_label AND pred_class = true_class) AS hit_counts_',
  ],
  regression: [
    'countIf(numeric) AS n_',
    'avgIf(abs(pred_num - true_num), numeric) AS mae_',
    'avgIf(pow(pred_num - true_num, 2), numeric) AS mse_',
    'countIf(numeric AND true_num != 0) AS n_nonzero_',
    'avgIf(abs(pred_num - true_num) / abs(true_num), numeric AND true_num != 0) AS mape_',
    // Welford variance: exactly 0 for constant labels, so R² is null rather than noise.
    'varPopStableIf(true_num, numeric) AS label_var_',
  ],
};

const NULL_METRICS = {
  accuracy: 'NULL',
  precision: 'NULL',
  recall: 'NULL',
  f1: 'NULL',
  roc_auc: 'NULL',
  positive_rate: 'NULL',
  macro_f1: 'NULL',
  mae: 'NULL',
  rmse: 'NULL',
  mape: 'NULL',
  r2: 'NULL',
};

/**
 * Final metrics per task from the aggregates. Undefined values are NULL: a ratio whose
 * denominator is 0, ROC AUC with one class, R² with constant labels.
 */
const TASK_METRICS: Record<Task, Partial<typeof NULL_METRICS>> = {
  binary_classification: {
    accuracy: 'if(labeled > 0, (labeled - fp_ - fn_) / labeled, NULL)',
    precision: 'if(tp_ + fp_ > 0, tp_ / (tp_ + fp_), NULL)',
    recall: 'if(tp_ + fn_ > 0, tp_ / (tp_ + fn_), NULL)',
    f1: 'if(tp_ + fp_ + fn_ > 0, 2 * tp_ / (2 * tp_ + fp_ + fn_), NULL)',
    // arrayAUC groups equal scores into one trapezoid step: ties count half, as roc_auc_score.
    roc_auc: `if(scored_pos_ > 0 AND scored_neg_ > 0, arrayAUC(arrayMap(x -> x.1, scored_), arrayMap(x -> toUInt8(x.2), scored_)), NULL)`,
    positive_rate: 'predicted_pos_ / count',
  },
  multiclass_classification: {
    accuracy: 'if(labeled > 0, correct_ / labeled, NULL)',
    // scikit-learn f1_score(average='macro', zero_division=0) over the classes seen in the bucket.
    macro_f1: `if(labeled > 0, arrayAvg(arrayMap(c -> 2 * hit_counts_[c] / (pred_counts_[c] + true_counts_[c]),
      arrayDistinct(arrayConcat(mapKeys(pred_counts_), mapKeys(true_counts_))))), NULL)`,
  },
  regression: {
    mae: 'if(n_ > 0, mae_, NULL)',
    rmse: 'if(n_ > 0, sqrt(mse_), NULL)',
    mape: 'if(n_nonzero_ > 0, mape_, NULL)',
    r2: 'if(n_ >= 2 AND label_var_ > 0, 1 - mse_ / label_var_, NULL)',
  },
};

/** Final metric columns of a task: every field, null where it does not apply. */
export function metricColumns(task: Task): string {
  return Object.entries({ ...NULL_METRICS, ...TASK_METRICS[task] })
    .map(([name, sql]) => `toNullable(toFloat64(${sql})) AS ${name}`)
    .join(',\n  ');
}

/** Per-row columns each task needs, from the prediction `p` and the label's alias `l`. */
export function rowColumns(task: Task, l: string): string[] {
  switch (task) {
    case 'binary_classification':
      return [
        'p.score AS score',
        `${norm('p.prediction')} = p.positive_class AS pred_pos`,
        `${norm(`${l}.label`)} = p.positive_class AS true_pos`,
      ];
    case 'multiclass_classification':
      return [`${norm('p.prediction')} AS pred_class`, `${norm(`${l}.label`)} AS true_class`];
    case 'regression':
      return [
        'assumeNotNull(p.prediction_num) AS pred_num',
        `assumeNotNull(${l}.label_num) AS true_num`,
        `has_label AND p.prediction_num IS NOT NULL AND ${l}.label_num IS NOT NULL AS numeric`,
      ];
  }
}

export interface MetricsQuery {
  query: string;
  params: Record<string, unknown>;
}

export interface MetricsQueryInput {
  model: string;
  task: Task;
  /** Versions of this task, with their positive class (binary). */
  versions: { version: string; positiveClass: string }[];
  bucket: Bucket;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /**
   * Read only the labels of the predictions in range (when there are more labels than such
   * predictions), so the join's hash table stays small; otherwise every label.
   */
  prefilterLabels: boolean;
  /**
   * Another source of scored rows in place of the model's stored predictions (the shadow
   * report's challenger or production outputs): a SELECT yielding the columns the predictions
   * subquery yields (model_version, timestamp, prediction_id, id_hash, prediction,
   * prediction_num, score, latency_ms, is_error, positive_class), with `sourceParams`. The
   * quality aggregates and metrics stay this module's, so every caller computes them alike.
   */
  source?: { sql: string; params: Record<string, unknown> } | undefined;
}

/** Columns of one result row. */
export interface MetricsRow {
  version: string;
  start_ms: number;
  count: number;
  errors: number;
  latency_q: (number | null)[];
  latency_max: number | null;
  labeled: number;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  roc_auc: number | null;
  positive_rate: number | null;
  macro_f1: number | null;
  mae: number | null;
  rmse: number | null;
  mape: number | null;
  r2: number | null;
}

/** The model's stored predictions in range: the rows the metrics route reports. */
export const predictionsSource = `      -- Non-finite numbers (older data may hold ±Infinity) are missing values, like nulls.
      SELECT model_version, timestamp, prediction_id, cityHash64(prediction_id) AS id_hash,
             prediction, ${finiteOrNull('prediction_num')}, ${finiteOrNull('score')}, ${finiteOrNull('latency_ms')}, is_error,
             transform(model_version, {versions:Array(String)}, {positive_classes:Array(String)}, '1') AS positive_class
      FROM predictions FINAL
      WHERE model_id = {model:String}
        AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
        AND model_version IN {versions:Array(String)}`;

export function metricsQuery(input: MetricsQueryInput): MetricsQuery {
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
    bucket_key,
    count() AS count,
    countIf(is_error) AS errors,
    -- Exact percentiles, interpolated between order statistics (NumPy's default 'linear').
    quantilesExactInclusive(0.5, 0.95, 0.99)(latency_ms) AS latency_q,
    max(latency_ms) AS latency_max,
    countIf(has_label) AS labeled,
    ${[...SERVING_AGGREGATES[input.task], ...QUALITY_AGGREGATES[input.task]].join(',\n    ')}
  FROM
  (
    SELECT
      p.model_version AS model_version,
      ${bucketSql(input.bucket, 'p.timestamp')} AS bucket_key,
      p.is_error AS is_error,
      p.latency_ms AS latency_ms,
      l.has_label AND l.prediction_id = p.prediction_id AS has_label,
      ${rowColumns(input.task, 'l').join(',\n      ')}
    FROM
    (
${input.source?.sql ?? predictionsSource}
    ) AS p
    LEFT ANY JOIN
    (
      SELECT prediction_id, cityHash64(prediction_id) AS id_hash, chosen.1 AS label, if(isFinite(chosen.2), chosen.2, NULL) AS label_num, true AS has_label
      FROM
      (
        ${LABEL_FOR_MODEL}
        FROM labels FINAL
        WHERE model_id IN ('', {model:String})
        ${
          input.prefilterLabels
            ? `AND cityHash64(prediction_id) IN (SELECT cityHash64(prediction_id) FROM predictions WHERE model_id = {model:String}
               AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC'))`
            : ''
        }
        GROUP BY prediction_id
      )
    ) AS l ON p.id_hash = l.id_hash
  )
  GROUP BY version, bucket_key
)
ORDER BY start_ms, version
SETTINGS query_plan_join_swap_table = 'false'`;
  return {
    query,
    params: {
      model: input.model,
      versions: input.versions.map((v) => v.version),
      positive_classes: input.versions.map((v) => v.positiveClass),
      from: input.from,
      to: input.to,
      ...input.source?.params,
    },
  };
}
