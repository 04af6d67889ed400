import { metricsQuery, norm, type MetricsRow } from '../metrics/index.js';
import { normalizeClass, type ModelVersionRecord, type Task } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { bucketEnd, bucketSql, type Bucket } from '../platform/time/index.js';

export const QUALITY_FIELDS = [
  'accuracy',
  'precision',
  'recall',
  'f1',
  'roc_auc',
  'positive_rate',
  'macro_f1',
  'mae',
  'rmse',
  'mape',
  'r2',
] as const;
export type Quality = Record<(typeof QUALITY_FIELDS)[number], number | null>;

export interface ShadowBucket {
  start: string;
  end: string;
  scored: number;
  failed: number;
  agreement: number | null;
  mean_abs_score_diff: number | null;
  max_abs_score_diff: number | null;
  labeled: number;
  production: Quality;
  challenger: Quality;
}

export interface ShadowReport {
  model_id: string;
  challengers: { version: string; buckets: ShadowBucket[] }[];
}

export interface ShadowReportRequest {
  model: string;
  /** Every version of the model (challengers and production, with task and positive class). */
  versions: readonly ModelVersionRecord[];
  bucket: Bucket;
  from: number;
  to: number;
}

const RANGE = `model_id = {model:String}
  AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
  AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`;

interface CountRow {
  version: string;
  start_ms: number;
  scored_n: number;
  failed_n: number;
  agreement: number | null;
  mean_abs: number | null;
  max_abs: number | null;
}

/** Versions whose task is regression: their score is the predicted value. */
function regressionVersions(r: ShadowReportRequest): string[] {
  return r.versions.filter((v) => v.task === 'regression').map((v) => v.model_version);
}

async function counts(db: Database, r: ShadowReportRequest): Promise<CountRow[]> {
  // A regression challenger's value is compared with production's numeric prediction; there is
  // no class to agree on.
  const regression = 'has({regression:Array(String)}, challenger_version)';
  const production = `if(${regression}, toFloat64OrNull(production_prediction), production_score)`;
  const ok = `NOT failed AND score IS NOT NULL AND ${production} IS NOT NULL`;
  // As the metrics compare classes: a boolean prediction (stored 'true'/'false') is class '1'/'0'.
  const agree = `NOT failed AND ${norm('label')} = ${norm('production_prediction')}`;
  const result = await db.client.query({
    query: `SELECT challenger_version AS version, toInt64(${bucketSql(r.bucket, 'timestamp')}) AS start_ms,
              countIf(NOT failed) AS scored_n, countIf(failed) AS failed_n,
              if(scored_n > 0 AND NOT any(${regression}), countIf(${agree}) / scored_n, NULL) AS agreement,
              if(countIf(${ok}) > 0, avgIf(abs(score - ${production}), ${ok}), NULL) AS mean_abs,
              if(countIf(${ok}) > 0, maxIf(abs(score - ${production}), ${ok}), NULL) AS max_abs
            FROM shadow_scores FINAL WHERE ${RANGE}
            GROUP BY version, start_ms ORDER BY start_ms, version`,
    query_params: { model: r.model, from: r.from, to: r.to, regression: regressionVersions(r) },
    format: 'JSONEachRow',
  });
  return result.json<CountRow>();
}

/**
 * The scored rows as the metrics query's source, one side at a time: the challenger's label and
 * score (a regression challenger's value as its numeric prediction), or production's prediction
 * and score on the same rows, grouped under the challenger's
 * version so the two sides pair up per bucket.
 */
function source(side: 'production' | 'challenger'): string {
  const [prediction, predictionNum, score, positive] =
    side === 'challenger'
      ? [
          'label',
          // A regression challenger's value (classification metrics never read prediction_num).
          'score',
          'score',
          "transform(challenger_version, {versions:Array(String)}, {positive_classes:Array(String)}, '1')",
        ]
      : [
          'production_prediction',
          'toFloat64OrNull(production_prediction)',
          'production_score',
          "transform(production_version, {production_versions:Array(String)}, {production_classes:Array(String)}, '1')",
        ];
  return `SELECT challenger_version AS model_version, timestamp, prediction_id, cityHash64(prediction_id) AS id_hash,
            ${prediction} AS prediction, ${predictionNum} AS prediction_num, ${score} AS score,
            CAST(NULL, 'Nullable(Float64)') AS latency_ms, false AS is_error, ${positive} AS positive_class
          FROM shadow_scores FINAL
          WHERE ${RANGE} AND NOT failed AND challenger_version IN {versions:Array(String)}`;
}

/** Quality per (challenger, bucket) on one side, by the metrics route's own query. */
async function quality(
  db: Database,
  r: ShadowReportRequest,
  side: 'production' | 'challenger',
): Promise<Map<string, MetricsRow>> {
  // Every version: a challenger archived since keeps its scored rows and their figures.
  const challengers = r.versions;
  const byTask = new Map<Task, ModelVersionRecord[]>();
  for (const v of challengers) byTask.set(v.task, [...(byTask.get(v.task) ?? []), v]);
  const out = new Map<string, MetricsRow>();
  for (const [task, versions] of byTask) {
    const { query, params } = metricsQuery({
      model: r.model,
      task,
      versions: versions.map((v) => ({
        version: v.model_version,
        positiveClass: normalizeClass(v.positive_class),
      })),
      bucket: r.bucket,
      from: r.from,
      to: r.to,
      prefilterLabels: false,
      source: {
        sql: source(side),
        params: {
          production_versions: r.versions.map((v) => v.model_version),
          production_classes: r.versions.map((v) => normalizeClass(v.positive_class)),
        },
      },
    });
    const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
    for (const row of await result.json<MetricsRow>()) out.set(`${row.version}\0${row.start_ms}`, row);
  }
  return out;
}

function pick(row: MetricsRow | undefined): Quality {
  return Object.fromEntries(QUALITY_FIELDS.map((f) => [f, row?.[f] ?? null])) as Quality;
}

/** SPEC 7's shadow comparison: per challenger and bucket with shadow rows, ascending by start. */
export async function shadowReport(db: Database, r: ShadowReportRequest): Promise<ShadowReport> {
  const [rows, production, challenger] = await Promise.all([
    counts(db, r),
    quality(db, r, 'production'),
    quality(db, r, 'challenger'),
  ]);
  const byVersion = new Map<string, ShadowBucket[]>();
  for (const row of rows) {
    const key = `${row.version}\0${row.start_ms}`;
    const buckets = byVersion.get(row.version) ?? [];
    buckets.push({
      start: new Date(Number(row.start_ms)).toISOString(),
      end: new Date(bucketEnd(r.bucket, Number(row.start_ms))).toISOString(),
      scored: Number(row.scored_n),
      failed: Number(row.failed_n),
      agreement: row.agreement,
      mean_abs_score_diff: row.mean_abs,
      max_abs_score_diff: row.max_abs,
      labeled: Number(challenger.get(key)?.labeled ?? 0),
      production: pick(production.get(key)),
      challenger: pick(challenger.get(key)),
    });
    byVersion.set(row.version, buckets);
  }
  const collator = new Intl.Collator('en', { numeric: true });
  return {
    model_id: r.model,
    challengers: [...byVersion]
      .sort(([a], [b]) => collator.compare(a, b))
      .map(([version, buckets]) => ({ version, buckets })),
  };
}
