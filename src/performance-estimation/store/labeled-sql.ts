/**
 * The version's predictions in [from, to) that have a label, joined as the metrics route joins
 * them (read with FINAL; the model's own label wins over an unnamed one), so the reference rows
 * are the ones whose realized metrics the metrics route reports.
 *
 * The labels side reads only the ids of the version's predictions in [from, to):
 * `labels` is ordered by prediction id, so the `IN` set prunes it by its primary key,
 * where a filter on `model_id` alone aggregated every label the model (and every unnamed label)
 * ever received, whatever the reference period. The set is read without FINAL: it holds every id
 * the FINAL side can keep, and more ids than that cannot change an inner join on the id, so the
 * rows and their labels are the same as without it.
 */
import { bucketSql, type Bucket } from '../../platform/time/index.js';

const norm = (column: string) => `multiIf(${column} = 'true', '1', ${column} = 'false', '0', ${column})`;

const labeledFrom = (scoredOnly: boolean) => `
FROM
(
  SELECT timestamp, prediction_id, score, prediction
  FROM predictions FINAL
  WHERE model_id = {model:String} AND model_version = {version:String}
    AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
    AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    ${scoredOnly ? 'AND score IS NOT NULL AND isFinite(score)' : ''}
) AS p
INNER JOIN
(
  SELECT prediction_id, argMax(label, model_id != '') AS label
  FROM labels FINAL
  WHERE model_id IN ('', {model:String})
    AND prediction_id IN
    (
      SELECT prediction_id
      FROM predictions
      WHERE model_id = {model:String} AND model_version = {version:String}
        AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    )
  GROUP BY prediction_id
) AS l ON p.prediction_id = l.prediction_id`;

const POSITIVE = `toUInt8(${norm('l.label')} = {positive:String})`;

/**
 * The rows a calibrator is fitted on: (score, 1 when the label is the positive class) of the
 * labeled predictions with a finite score, by event time, then prediction id (NannyML takes the
 * reference rows in the order given, and the folds depend on it). Tab-separated: read straight
 * into typed arrays, without a JSON value per row.
 */
export const LABELED_SCORES = `
SELECT p.score, ${POSITIVE} AS positive
${labeledFrom(true)}
ORDER BY p.timestamp, p.prediction_id`;

/**
 * What the calibrator depends on, cheaply: the number of those rows, their positives, and an
 * order-free checksum of (prediction, label, score), so a label landing or corrected later is seen.
 */
export const LABELED_FINGERPRINT = `
SELECT count() AS rows, sum(${POSITIVE}) AS positives,
  toString(groupBitXor(cityHash64(p.prediction_id, ${POSITIVE}, p.score))) AS checksum
${labeledFrom(true)}`;

/**
 * Per bucket of the reference period, the labeled predictions, their positive labels and their
 * predicted positives: where either is one class, NannyML has no realized precision, recall or F1.
 */
export const bandClassesQuery = (bucket: Bucket) => `
SELECT toInt64(${bucketSql(bucket, 'p.timestamp')}) AS start_ms, count() AS labeled,
  sum(${POSITIVE}) AS label_positives,
  sum(toUInt8(${norm('p.prediction')} = {positive:String})) AS predicted_positives
${labeledFrom(false)}
GROUP BY start_ms
ORDER BY start_ms`;

/**
 * The labeled predictions of the reference period, and how many of them have a finite score: read
 * only when the calibrator has no row (`no_rows`), to tell "no label yet" from "labels, but the
 * version sends no `score`" (CBPE needs the positive class's probability).
 */
export const LABELED_SCORED_COUNTS = `
SELECT count() AS labeled, countIf(p.score IS NOT NULL AND isFinite(p.score)) AS scored
${labeledFrom(false)}`;
