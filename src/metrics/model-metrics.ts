import { normalizeClass, type ModelVersionRecord, type Task } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { ModelwatchError } from '../platform/errors.js';
import { bucketEnd, bucketSeconds, parseBucket, type Bucket } from '../platform/time/index.js';
import { metricsQuery, type MetricsQueryInput, type MetricsRow } from './metrics-sql.js';
import { cachedRollup, type CacheStats } from './bucket-cache.js';
import { sweepWaitingLabels } from './label-sweep.js';
import { rollupMetricsQuery } from './rollup-sql.js';
import type { MetricsBucket, ModelMetrics } from './schemas.js';

export type { MetricsBucket, ModelMetrics };

export interface MetricsRequest {
  model: string;
  /** The versions to report, with their task and positive class. */
  versions: Pick<ModelVersionRecord, 'model_version' | 'task' | 'positive_class'>[];
  /** A bucket as the routes take it (`1h`, `month`, `<n>m|h|d`, …). */
  bucket: string;
  /** Epoch ms, inclusive, on a bucket boundary. */
  from: number;
  /** Epoch ms, exclusive, on a bucket boundary. */
  to: number;
  /**
   * `rollup` reads the pre-joined labeled table; `raw` joins predictions with labels at read
   * time (the reference the rollup is tested against). Both are exact and answer alike.
   * @default 'rollup'
   */
  path?: 'rollup' | 'raw';
  /**
   * On the rollup path, read unchanged whole buckets from the bucket cache and cache the others
   * (`bucket-cache.ts`); `false` computes every bucket (the bench's baseline). Same answer.
   * @default true
   */
  cache?: boolean;
  /** Told how the bucket cache answered (tests and the bench). @default none */
  onCache?: (stats: CacheStats) => void;
  /** Other rows than the model's stored predictions (a segment's); read on the raw path. @default the predictions */
  source?: MetricsQueryInput['source'];
}

const byVersion = new Intl.Collator('en', { numeric: true });

/**
 * Serving and quality metrics per version and bucket, computed in ClickHouse. Versions are
 * grouped by task (a model's versions may differ), one query per task; only buckets holding
 * predictions are returned, ascending by start, then by version.
 */
export async function computeModelMetrics(db: Database, request: MetricsRequest): Promise<ModelMetrics> {
  const bucket = parseBucket(request.bucket);
  if (!bucket)
    throw new ModelwatchError(
      'BAD_REQUEST',
      `bucket: '${request.bucket}' is not a bucket (5m, 1h, 1d, 1w, month or <n>m|h|d)`,
    );
  const raw = request.path === 'raw' || request.source !== undefined;
  const prefilterLabels = raw && !(await labelsAreFewer(db, request));
  if (!raw) await sweepWaitingLabels(db);
  const byTask = new Map<Task, MetricsRequest['versions']>();
  for (const v of request.versions) byTask.set(v.task, [...(byTask.get(v.task) ?? []), v]);
  const inputs = [...byTask].map(([task, versions]) => ({
    model: request.model,
    task,
    versions: versions.map((v) => ({
      version: v.model_version,
      positiveClass: normalizeClass(v.positive_class),
    })),
    bucket,
    from: request.from,
    to: request.to,
  }));
  const results =
    !raw && request.cache !== false
      ? await cachedRollup(db, inputs).then(({ rows, stats }) => (request.onCache?.(stats), rows))
      : await Promise.all(
          inputs.map(async (input) => {
            const { query, params } = raw
              ? metricsQuery({ ...input, prefilterLabels, source: request.source })
              : rollupMetricsQuery(input);
            const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
            return result.json<MetricsRow>();
          }),
        );
  const buckets = results
    .flatMap((rows, i) => rows.map((row) => toBucket(row, inputs[i]!.task, bucket)))
    .sort((a, b) => a.start.localeCompare(b.start) || byVersion.compare(a.version, b.version));
  return { model_id: request.model, buckets };
}

/** Row counts from part metadata and the primary key (milliseconds), duplicates included: an estimate. */
async function labelsAreFewer(db: Database, request: MetricsRequest): Promise<boolean> {
  const result = await db.client.query({
    query: `SELECT (SELECT count() FROM labels) AS labels,
                   (SELECT count() FROM predictions WHERE model_id = {model:String}
                      AND timestamp >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
                      AND timestamp < fromUnixTimestamp64Milli({to:Int64}, 'UTC')) AS predictions`,
    query_params: { model: request.model, from: request.from, to: request.to },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ labels: number; predictions: number }>();
  return row === undefined || row.labels <= row.predictions;
}

function toBucket(row: MetricsRow, task: Task, bucket: Bucket): MetricsBucket {
  const [p50 = null, p95 = null, p99 = null] = row.latency_q;
  return {
    start: new Date(row.start_ms).toISOString(),
    end: new Date(bucketEnd(bucket, row.start_ms)).toISOString(),
    version: row.version,
    task,
    count: row.count,
    throughput: row.count / bucketSeconds(bucket, row.start_ms),
    error_rate: row.errors / row.count,
    latency_ms: { p50, p95, p99, max: row.latency_max },
    labeled: row.labeled,
    label_coverage: row.labeled / row.count,
    accuracy: row.accuracy,
    precision: row.precision,
    recall: row.recall,
    f1: row.f1,
    roc_auc: row.roc_auc,
    positive_rate: row.positive_rate,
    macro_f1: row.macro_f1,
    mae: row.mae,
    rmse: row.rmse,
    mape: row.mape,
    r2: row.r2,
  };
}
