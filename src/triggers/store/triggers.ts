/** The outbox (`retrain_triggers`) and its deliveries: what is stored, what is still to publish. */
import { Readable } from 'node:stream';
import type { Database } from '../../platform/clickhouse/index.js';
import type { StoredTrigger } from '../engine/cooldown.js';
import type { Reason, TriggerPayload } from '../engine/trigger.js';

/** `keep` is larger for earlier rows: 2300-01-01 in ms minus created_at. */
const KEEP_BASE = Date.UTC(2300, 0, 1);

export interface Delivery {
  triggerId: string;
  modelId: string;
  partition: number;
  offset: string;
  publishedAt: number;
}

/** A trigger the broker refused as larger than the topic takes: not sent again while recorded. */
export interface Refusal {
  triggerId: string;
  modelId: string;
  partition: number;
  /** The message's size as sent (key, value, headers, and an estimate of the framing). */
  bytes: number;
  error: string;
  refusedAt: number;
}

export interface ListedTrigger extends TriggerPayload {
  published: boolean;
  published_at: string | null;
  partition: number | null;
  offset: string | null;
  /** Present when the broker refused it as too large (README.md, "Failures"). */
  refused?: { at: string; bytes: number; error: string };
}

export interface TriggerQuery {
  modelId?: string | undefined;
  /** Windows starting at or after (epoch ms). */
  from?: number | undefined;
  /** Windows starting before (epoch ms). */
  to?: number | undefined;
  limit: number;
  /** Only triggers after this one in the list's order (the route's `cursor`). */
  after?: TriggerPosition | undefined;
}

/** Where a trigger stands in the list's order: window start (epoch ms), model, reason, version, id. */
export type TriggerPosition = [number, string, string, string, string];

/** The position of a listed trigger, for a later `after`. */
export function positionOf(
  t: Pick<TriggerPayload, 'window' | 'model_id' | 'reason' | 'model_version' | 'trigger_id'>,
): TriggerPosition {
  return [Date.parse(t.window.start), t.model_id, t.reason, t.model_version, t.trigger_id];
}

async function insertRows(db: Database, table: string, rows: readonly object[]): Promise<void> {
  if (rows.length === 0) return;
  const result = await db.client.exec({
    query: `INSERT INTO ${table} FORMAT JSONEachRow`,
    values: Readable.from([Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'))]),
  });
  for await (const _ of result.stream) {
    // drain: the server answers with an empty body
  }
}

export class TriggerStore {
  constructor(private readonly db: Database) {}

  /**
   * Stored triggers of a model whose window ends in [from, to] (for the cooldown), with a segment
   * trigger's segmentation (stored in its evidence) as its key.
   */
  async near(modelId: string, from: number, to: number): Promise<StoredTrigger[]> {
    const result = await this.db.client.query({
      query: `SELECT trigger_id, reason, toUnixTimestamp64Milli(window_end) AS end_ms,
                     if(reason = 'segment', JSONExtractString(payload, 'evidence', 'segmentation'), '') AS key
              FROM retrain_triggers FINAL
              WHERE model_id = {model:String}
                AND window_end >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND window_end <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
      query_params: {
        model: modelId,
        from: Math.max(from, Date.UTC(1900, 0, 1)),
        to: Math.min(to, KEEP_BASE - 1),
      },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ trigger_id: string; reason: Reason; end_ms: number; key: string }>();
    return rows.map((r) => ({
      triggerId: r.trigger_id,
      reason: r.reason,
      end: Number(r.end_ms),
      ...(r.key === '' ? {} : { key: r.key }),
    }));
  }

  async insert(payloads: readonly TriggerPayload[]): Promise<void> {
    await insertRows(
      this.db,
      'retrain_triggers',
      payloads.map((p) => {
        const created = Date.parse(p.created_at);
        return {
          trigger_id: p.trigger_id,
          model_id: p.model_id,
          model_version: p.model_version,
          reason: p.reason,
          window_start: Date.parse(p.window.start),
          window_end: Date.parse(p.window.end),
          payload: JSON.stringify(p),
          created_at: created,
          keep: KEEP_BASE - created,
        };
      }),
    );
  }

  /** Stored triggers neither delivered nor refused as too large, oldest first. */
  async pending(limit = 1000): Promise<TriggerPayload[]> {
    const result = await this.db.client.query({
      query: `SELECT payload FROM retrain_triggers FINAL
              WHERE (model_id, trigger_id) NOT IN (SELECT model_id, trigger_id FROM retrain_trigger_deliveries)
                AND (model_id, trigger_id) NOT IN (SELECT model_id, trigger_id FROM retrain_trigger_refusals)
              ORDER BY created_at, trigger_id LIMIT {limit:UInt32}`,
      query_params: { limit },
      format: 'JSONEachRow',
    });
    return (await result.json<{ payload: string }>()).map((r) => JSON.parse(r.payload) as TriggerPayload);
  }

  async recordDeliveries(deliveries: readonly Delivery[]): Promise<void> {
    await insertRows(
      this.db,
      'retrain_trigger_deliveries',
      deliveries.map((d) => ({
        trigger_id: d.triggerId,
        model_id: d.modelId,
        partition: d.partition,
        offset: Number(d.offset),
        published_at: d.publishedAt,
      })),
    );
  }

  async recordRefusals(refusals: readonly Refusal[]): Promise<void> {
    await insertRows(
      this.db,
      'retrain_trigger_refusals',
      refusals.map((r) => ({
        trigger_id: r.triggerId,
        model_id: r.modelId,
        partition: r.partition,
        bytes: r.bytes,
        error: r.error,
        refused_at: r.refusedAt,
      })),
    );
  }

  /** Delivered triggers whose audit record was never acknowledged, oldest first. */
  async unaudited(limit = 1000): Promise<TriggerPayload[]> {
    const result = await this.db.client.query({
      query: `SELECT payload FROM retrain_triggers FINAL
              WHERE (model_id, trigger_id) IN (SELECT model_id, trigger_id FROM retrain_trigger_deliveries)
                AND (model_id, trigger_id) NOT IN (SELECT model_id, trigger_id FROM retrain_trigger_audits)
              ORDER BY created_at, trigger_id LIMIT {limit:UInt32}`,
      query_params: { limit },
      format: 'JSONEachRow',
    });
    return (await result.json<{ payload: string }>()).map((r) => JSON.parse(r.payload) as TriggerPayload);
  }

  /** Written once the audit record of each trigger was acknowledged. */
  async recordAudits(audited: readonly Pick<TriggerPayload, 'trigger_id' | 'model_id'>[]): Promise<void> {
    const now = Date.now();
    await insertRows(
      this.db,
      'retrain_trigger_audits',
      audited.map((t) => ({ trigger_id: t.trigger_id, model_id: t.model_id, audited_at: now })),
    );
  }

  async list(query: TriggerQuery): Promise<ListedTrigger[]> {
    const where: string[] = [];
    if (query.modelId !== undefined) where.push('t.model_id = {model:String}');
    if (query.from !== undefined)
      where.push(`t.window_start >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`);
    if (query.to !== undefined) where.push(`t.window_start < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`);
    if (query.after !== undefined)
      where.push(`(t.window_start, t.model_id, t.reason, t.model_version, t.trigger_id) >
        (fromUnixTimestamp64Milli({aw:Int64}, 'UTC'), {am:String}, {ar:String}, {av:String}, {at:String})`);
    const [aw, am, ar, av, at] = query.after ?? [];
    const result = await this.db.client.query({
      query: `SELECT t.payload AS payload, d.trigger_id != '' AS published, toUnixTimestamp64Milli(d.published_at) AS published_ms, d.partition AS partition, d.offset AS offset,
                     r.trigger_id != '' AS refused, toUnixTimestamp64Milli(r.refused_at) AS refused_ms, r.bytes AS refused_bytes, r.error AS refused_error
              FROM (SELECT * FROM retrain_triggers FINAL) AS t
              LEFT JOIN (SELECT * FROM retrain_trigger_deliveries FINAL) AS d ON t.model_id = d.model_id AND t.trigger_id = d.trigger_id
              LEFT JOIN (SELECT * FROM retrain_trigger_refusals FINAL) AS r ON t.model_id = r.model_id AND t.trigger_id = r.trigger_id
              ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY t.window_start, t.model_id, t.reason, t.model_version, t.trigger_id LIMIT {limit:UInt32}`,
      query_params: Object.fromEntries(
        Object.entries({
          model: query.modelId,
          from: query.from,
          to: query.to,
          limit: query.limit,
          ...{ aw, am, ar, av, at },
        }).filter(([, v]) => v !== undefined),
      ),
      format: 'JSONEachRow',
    });
    return (await result.json<ListedRow>()).map(listed);
  }
}

interface ListedRow {
  payload: string;
  published: boolean | number;
  published_ms: number;
  partition: number;
  offset: number | string;
  refused: boolean | number;
  refused_ms: number;
  refused_bytes: number | string;
  refused_error: string;
}

function listed(r: ListedRow): ListedTrigger {
  const published = Boolean(r.published);
  return {
    ...(JSON.parse(r.payload) as TriggerPayload),
    published,
    published_at: published ? new Date(Number(r.published_ms)).toISOString() : null,
    partition: published ? Number(r.partition) : null,
    offset: published ? String(r.offset) : null,
    ...(r.refused
      ? {
          refused: {
            at: new Date(Number(r.refused_ms)).toISOString(),
            bytes: Number(r.refused_bytes),
            error: r.refused_error,
          },
        }
      : {}),
  };
}
