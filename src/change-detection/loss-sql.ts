/**
 * Per-prediction loss of one model version's labeled predictions in [from, to), in event-time
 * order (ties by prediction id, so every read gives the same order): 0/1 error for
 * classifiers (the metrics route's class normalization: `true`/`false` are classes 1/0; a binary
 * version's prediction and label are compared as positive or not, {positive:String}),
 * absolute error for regression. Predictions and labels are read FINAL (a redelivered event
 * counts once); a label naming the model wins over an unnamed one, one naming another model
 * never applies (the metrics route's rule). Every user value is a query parameter.
 */
import type { Task } from '../models/index.js';

const norm = (column: string) => `multiIf(${column} = 'true', '1', ${column} = 'false', '0', ${column})`;

const LOSS: Record<Task, { value: string; where: string }> = {
  // Positive or not, as the metrics route's accuracy asks: a negative label in another word than
  // the prediction's (labels 1/-1 against predictions 1/0) is still a right answer.
  binary_classification: {
    value: `toFloat64((${norm('p.prediction')} = {positive:String}) != (${norm('l.label')} = {positive:String}))`,
    where: '1',
  },
  multiclass_classification: {
    value: `toFloat64(${norm('p.prediction')} != ${norm('l.label')})`,
    where: '1',
  },
  regression: {
    value: 'abs(assumeNotNull(p.prediction_num) - assumeNotNull(l.label_num))',
    // Finite inputs can still overflow to an infinite error, which JSON would carry as null (read as 0).
    where:
      'p.prediction_num IS NOT NULL AND isFinite(p.prediction_num) AND l.label_num IS NOT NULL AND isFinite(l.label_num)' +
      ' AND isFinite(abs(assumeNotNull(p.prediction_num) - assumeNotNull(l.label_num)))',
  },
};

/** What the loss is called in answers. */
export const LOSS_NAME: Record<Task, 'zero_one' | 'absolute_error'> = {
  binary_classification: 'zero_one',
  multiclass_classification: 'zero_one',
  regression: 'absolute_error',
};

const RANGE = `model_id = {model:String} AND model_version = {version:String}
  AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`;

/**
 * One row per labeled prediction, in order: `t` (epoch ms), `prediction_id`, `v` (the loss), at
 * most {limit:UInt64} of them (the caller asks for one more than it accepts, to know when a range
 * holds too many). `extra` is an additional condition on the predictions (a segment), with its
 * own parameters.
 */
export function lossQuery(task: Task, extra = ''): string {
  const loss = LOSS[task];
  return `SELECT toInt64(toUnixTimestamp64Milli(p.timestamp)) AS t, p.prediction_id AS prediction_id, ${loss.value} AS v
  FROM (SELECT prediction_id, timestamp, prediction, prediction_num FROM predictions FINAL WHERE ${RANGE}${extra}) AS p
  INNER JOIN (
    SELECT prediction_id, chosen.1 AS label, chosen.2 AS label_num FROM (
      SELECT prediction_id, argMax((label, label_num), model_id != '') AS chosen FROM labels FINAL
      WHERE model_id IN ('', {model:String})
        AND prediction_id IN (SELECT prediction_id FROM predictions WHERE ${RANGE}${extra})
      GROUP BY prediction_id)
  ) AS l ON p.prediction_id = l.prediction_id
  WHERE ${loss.where}
  ORDER BY t, prediction_id
  LIMIT {limit:UInt64}`;
}
