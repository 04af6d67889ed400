/**
 * The version's predictions in [from, to) that have a finite score and a label, as (score, 1 when
 * the label is the positive class): the rows a calibrator is fitted on. Labels as the metrics route
 * joins them (read with FINAL; the model's own label wins over an unnamed one), so the reference
 * rows are the ones whose realized metrics the metrics route reports. Ordered by event time, then
 * prediction id: NannyML takes the reference rows in the order given, and the folds depend on it.
 */
const norm = (column: string) => `multiIf(${column} = 'true', '1', ${column} = 'false', '0', ${column})`;

export const LABELED_SCORES = `
SELECT p.score, toUInt8(${norm('l.label')} = {positive:String}) AS positive
FROM
(
  SELECT timestamp, prediction_id, score
  FROM predictions FINAL
  WHERE model_id = {model:String} AND model_version = {version:String}
    AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
    AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
    AND score IS NOT NULL AND isFinite(score)
) AS p
INNER JOIN
(
  SELECT prediction_id, argMax(label, model_id != '') AS label
  FROM labels FINAL
  WHERE model_id IN ('', {model:String})
  GROUP BY prediction_id
) AS l ON p.prediction_id = l.prediction_id
ORDER BY p.timestamp, p.prediction_id`;
