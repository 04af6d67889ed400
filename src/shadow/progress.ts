import type { ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';

const key = (c: ModelVersionRecord, slot: number) => `${c.model_id}\0${c.model_version}\0${slot}`;

/**
 * Each challenger's cursors on `predictions.ingested_at` (epoch ms), one per work-sharing slot
 * (leases.ts): every prediction of the slot stored at or before it is scored. Kept in
 * `shadow_slot_progress` (migration 45) once a batch is stored. A row in `shadow_progress`
 * (migration 42: one cursor for every slot, as before slots existed, or an operator's rewind)
 * applies to every slot when it is the later written. A challenger without either starts at its
 * registration (`first_seen`), so it scores the predictions stored from then on.
 */
export class ShadowProgress {
  private readonly cursors = new Map<string, number>();

  constructor(private readonly db: Database) {}

  /** The cursor of each slot, read from ClickHouse for slots not known here (newly leased). */
  async read(c: ModelVersionRecord, slots: readonly number[]): Promise<Map<number, number>> {
    const unknown = slots.filter((s) => !this.cursors.has(key(c, s)));
    if (unknown.length > 0) await this.load(c, unknown);
    return new Map(slots.map((s) => [s, this.cursors.get(key(c, s)) as number]));
  }

  /** Forgets the cached cursors of `c` (another instance may have moved them). */
  forget(c: ModelVersionRecord, slots: readonly number[]): void {
    for (const s of slots) this.cursors.delete(key(c, s));
  }

  private async load(c: ModelVersionRecord, slots: readonly number[]): Promise<void> {
    const params = { model: c.model_id, version: c.model_version, slots };
    const result = await this.db.client.query({
      query: `SELECT slot, toUnixTimestamp64Milli(ingested_to) AS done, toUnixTimestamp64Milli(updated_at) AS at
        FROM shadow_slot_progress FINAL
        WHERE model_id = {model:String} AND challenger_version = {version:String} AND slot IN {slots:Array(UInt16)}
        UNION ALL
        SELECT 65535 AS slot, toUnixTimestamp64Milli(ingested_to) AS done, toUnixTimestamp64Milli(updated_at) AS at
        FROM shadow_progress FINAL WHERE model_id = {model:String} AND challenger_version = {version:String}
        UNION ALL
        SELECT 65534 AS slot, toUnixTimestamp64Milli(first_seen) - 1 AS done, 0 AS at
        FROM model_versions FINAL WHERE model_id = {model:String} AND model_version = {version:String}`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const rows = (await result.json<{ slot: number; done: number; at: number }>()).map((r) => ({
      slot: Number(r.slot),
      done: Number(r.done),
      at: Number(r.at),
    }));
    const all = rows.find((r) => r.slot === 65_535);
    const since = rows.find((r) => r.slot === 65_534)?.done ?? 0;
    for (const s of slots) {
      const own = rows.find((r) => r.slot === s);
      const latest = own && (!all || own.at >= all.at) ? own : all;
      this.cursors.set(key(c, s), latest?.done ?? since);
    }
  }

  /** Nothing was stored in the range: move on without writing (rereading it costs little). */
  skip(c: ModelVersionRecord, slots: readonly number[], to: number): void {
    for (const s of slots) this.cursors.set(key(c, s), to);
  }

  /** The batch up to `to` is stored: the slots' cursors move there, durably. */
  async save(c: ModelVersionRecord, slots: readonly number[], to: number): Promise<void> {
    const updated = Date.now();
    await this.db.client.insert({
      table: 'shadow_slot_progress',
      values: slots.map((slot) => ({
        model_id: c.model_id,
        challenger_version: c.model_version,
        slot,
        ingested_to: to,
        updated_at: updated,
      })),
      format: 'JSONEachRow',
    });
    this.skip(c, slots, to);
  }
}
