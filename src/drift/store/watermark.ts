/** Event-time reads of the evaluation loop: where a version's next window starts, and the watermark. */
import type { Database } from '../../platform/clickhouse/index.js';
import type { VersionKey } from './references.js';

export interface WatermarkOptions {
  /** Events stamped later than their own ingest time plus this are ignored (the collectors dead-letter them). */
  maxFutureSkewMs: number;
  /** The watermark is the `rank`-th latest distinct event, so fewer than `rank` outliers cannot move it. */
  rank: number;
}

/** Rows read from the top of the model's time order; duplicates (redeliveries) of one event collapse among them. */
const TOP_ROWS = 1_000;

/**
 * The event time the watermark follows: among the model's events no later than their
 * `ingested_at` + skew, the `rank`-th latest (by prediction id, so a redelivered event counts once);
 * with fewer events, the earliest of them. No FINAL: reading the sorting key backwards stops early.
 */
export async function watermarkEventTime(
  db: Database,
  modelId: string,
  options: WatermarkOptions,
): Promise<number | undefined> {
  const result = await db.client.query({
    query: `SELECT count() AS n, toUnixTimestamp64Milli(min(t)) AS t FROM (
              SELECT DISTINCT prediction_id, t FROM (
                SELECT prediction_id, timestamp AS t FROM predictions
                WHERE model_id = {model:String} AND timestamp <= ingested_at + toIntervalMillisecond({skew:Int64})
                ORDER BY timestamp DESC LIMIT ${TOP_ROWS}
              ) ORDER BY t DESC LIMIT {rank:UInt32}
            )`,
    query_params: { model: modelId, skew: options.maxFutureSkewMs, rank: options.rank },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number; t: number }>();
  return row && Number(row.n) > 0 ? Number(row.t) : undefined;
}

/**
 * Earliest event time of a version at or after `after`. No FINAL: a duplicate of an event has its
 * event time, so the minimum is the same with or without it.
 */
export async function firstEventTime(
  db: Database,
  key: VersionKey,
  after: number | undefined,
): Promise<number | undefined> {
  const where = ['model_id = {model:String}', 'model_version = {version:String}'];
  if (after !== undefined) where.push(`timestamp >= fromUnixTimestamp64Milli({after:Int64}, 'UTC')`);
  const result = await db.client.query({
    query: `SELECT count() AS n, toUnixTimestamp64Milli(min(timestamp)) AS t FROM predictions WHERE ${where.join(' AND ')}`,
    query_params: { model: key.modelId, version: key.version, ...(after === undefined ? {} : { after }) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: number; t: number }>();
  return row && Number(row.n) > 0 ? Number(row.t) : undefined;
}
