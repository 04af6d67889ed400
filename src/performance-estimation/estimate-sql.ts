/**
 * The CBPE query: one row per (version, bucket) with NannyML's estimates, computed where the rows
 * are. Each scored prediction is calibrated in SQL by an ASOF join on the version's isotonic
 * thresholds (clip, then `numpy.interp`'s formula: the threshold's own value at a threshold, else
 * slope × (score − x_j) + y_j); the expected confusion matrix is four sums; the estimated ROC curve
 * is a cumulative sum over the bucket's rows sorted by score (estimators.ts has the definitions).
 * Without calibration the scores are the probabilities (SPEC 3.2): a bucket holding a score
 * outside [0, 1] then has no estimates (null), rather than impossible ones; `unusable_scores`
 * counts those scores.
 * User input travels only as query parameters; the bucket fragment comes from `parseBucket`.
 */
import { bucketSql, type Bucket } from '../platform/time/index.js';

export interface VersionCalibration {
  version: string;
  positiveClass: string;
  /** Isotonic thresholds and values; empty when the scores are used as they are. */
  thresholds: readonly number[];
  values: readonly number[];
}

export interface EstimateQueryInput {
  model: string;
  versions: readonly VersionCalibration[];
  bucket: Bucket;
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

export interface EstimateRow {
  version: string;
  start_ms: number;
  count: number;
  /** Scores outside [0, 1] of an uncalibrated version: its estimates are null where any. */
  unusable_scores: number;
  roc_auc: number | null;
  accuracy: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

/** Stands for an unbounded end: finite, so it travels as a query parameter like any double. */
const UNBOUNDED = Number.MAX_VALUE;

const norm = (column: string) => `multiIf(${column} = 'true', '1', ${column} = 'false', '0', ${column})`;

/** One ASOF step per threshold: [x_j, x_{j+1}) maps by the segment from (x_j, y_j) to (x_{j+1}, y_{j+1}). */
function steps(versions: readonly VersionCalibration[]) {
  const out = {
    step_version: [] as string[],
    step_x: [] as number[],
    step_y: [] as number[],
    step_x_next: [] as number[],
    step_y_next: [] as number[],
    step_last: [] as number[],
    step_calibrated: [] as number[],
  };
  for (const v of versions) {
    const n = v.thresholds.length;
    // Uncalibrated: one step from the lowest double, whose value is the score itself.
    const xs = n === 0 ? [-UNBOUNDED] : v.thresholds;
    xs.forEach((x, j) => {
      out.step_version.push(v.version);
      out.step_x.push(x);
      out.step_y.push(n === 0 ? 0 : v.values[j]!);
      out.step_x_next.push(j + 1 < n ? v.thresholds[j + 1]! : x);
      out.step_y_next.push(j + 1 < n ? v.values[j + 1]! : n === 0 ? 0 : v.values[j]!);
      out.step_last.push(j + 1 >= xs.length ? 1 : 0);
      out.step_calibrated.push(n === 0 ? 0 : 1);
    });
  }
  return out;
}

export function estimateQuery(input: EstimateQueryInput): { query: string; params: Record<string, unknown> } {
  const versions = input.versions.map((v) => v.version);
  const lows = input.versions.map((v) => v.thresholds[0] ?? -UNBOUNDED);
  const highs = input.versions.map((v) => v.thresholds[v.thresholds.length - 1] ?? UNBOUNDED);
  const query = `
SELECT version, toInt64(bucket_key) AS start_ms, count, unusable_scores,
  unusable_scores = 0 AS usable_,
  toNullable(toFloat64(if(usable_, (tp_ + tn_) / count, NULL))) AS accuracy,
  toNullable(toFloat64(if(usable_, if(tp_ + fp_ != 0, tp_ / (tp_ + fp_), 0), NULL))) AS precision,
  toNullable(toFloat64(if(usable_, if(tp_ + fn_ != 0, tp_ / (tp_ + fn_), 0), NULL))) AS recall,
  toNullable(toFloat64(if(usable_, if(tp_ + 0.5 * (fp_ + fn_) != 0, tp_ / (tp_ + 0.5 * (fp_ + fn_)), 0), NULL))) AS f1,
  -- Rows by score descending; equal scores have equal p, so their order among themselves is moot.
  arrayCumSum(arrayMap(x -> x.2, arraySort(x -> -x.1, curve_))) AS cs_,
  arrayConcat([0.], arrayMap(c -> round(c, 5), cs_)) AS tps_,
  arrayConcat([0.], arrayMap((c, k) -> round(k - c, 5), cs_, arrayEnumerate(cs_))) AS fps_,
  tps_[-1] AS tp_total_,
  fps_[-1] AS fp_total_,
  if(NOT usable_ OR tp_total_ = 0 OR fp_total_ = 0, NULL,
     arraySum(arrayMap((x1, x0, y1, y0) -> (x1 / fp_total_ - x0 / fp_total_) * (y1 / tp_total_ + y0 / tp_total_) / 2,
       arrayPopFront(fps_), arrayPopBack(fps_), arrayPopFront(tps_), arrayPopBack(tps_)))) AS roc_auc
FROM
(
  SELECT version, bucket_key, count() AS count,
    countIf(NOT calibrated AND (score < 0 OR score > 1)) AS unusable_scores,
    sumIf(prob, pred_pos) AS tp_, sumIf(1 - prob, pred_pos) AS fp_,
    sumIf(prob, NOT pred_pos) AS fn_, sumIf(1 - prob, NOT pred_pos) AS tn_,
    groupArray((score, prob)) AS curve_
  FROM
  (
    SELECT p.model_version AS version, p.bucket_key AS bucket_key, p.score_value AS score, p.pred_pos AS pred_pos,
      c.calibrated AS calibrated,
      multiIf(NOT c.calibrated, p.score_value, c.is_last OR c.x = p.clipped, c.y,
              (c.y_next - c.y) / (c.x_next - c.x) * (p.clipped - c.x) + c.y) AS prob
    FROM
    (
      -- Not aliased as score: WHERE would then read the alias, and assumeNotNull(NULL) is 0, a finite score.
      SELECT model_version, ${bucketSql(input.bucket, 'timestamp')} AS bucket_key, assumeNotNull(score) AS score_value,
        ${norm('prediction')} = transform(model_version, {versions:Array(String)}, {positive_classes:Array(String)}, '1') AS pred_pos,
        least(greatest(score_value, transform(model_version, {versions:Array(String)}, {lows:Array(Float64)}, 0.)),
              transform(model_version, {versions:Array(String)}, {highs:Array(Float64)}, 0.)) AS clipped
      FROM predictions FINAL
      WHERE model_id = {model:String}
        AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
        AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
        AND model_version IN {versions:Array(String)}
        AND score IS NOT NULL AND isFinite(score)
    ) AS p
    ASOF INNER JOIN
    (
      SELECT {step_version:Array(String)}[i] AS version, {step_x:Array(Float64)}[i] AS x,
        {step_y:Array(Float64)}[i] AS y, {step_x_next:Array(Float64)}[i] AS x_next,
        {step_y_next:Array(Float64)}[i] AS y_next, {step_last:Array(UInt8)}[i] = 1 AS is_last,
        {step_calibrated:Array(UInt8)}[i] = 1 AS calibrated
      FROM (SELECT arrayJoin(arrayEnumerate({step_x:Array(Float64)})) AS i)
    ) AS c ON p.model_version = c.version AND p.clipped >= c.x
  )
  GROUP BY version, bucket_key
)
ORDER BY start_ms, version`;
  return {
    query,
    params: {
      model: input.model,
      versions,
      positive_classes: input.versions.map((v) => v.positiveClass),
      lows,
      highs,
      from: input.from,
      to: input.to,
      ...steps(input.versions),
    },
  };
}
