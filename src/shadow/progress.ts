import type { ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';

const key = (c: ModelVersionRecord) => `${c.model_id}\0${c.model_version}`;

/**
 * Each challenger's cursor on `predictions.ingested_at` (epoch ms): every prediction stored at or
 * before it is scored. Kept in `shadow_progress` once a batch is stored; a challenger without a
 * row starts at its registration (`first_seen`), so it scores the predictions stored from then on.
 */
export class ShadowProgress {
  private readonly cursors = new Map<string, number>();

  constructor(private readonly db: Database) {}

  async cursor(c: ModelVersionRecord): Promise<number> {
    const known = this.cursors.get(key(c));
    if (known !== undefined) return known;
    const result = await this.db.client.query({
      query: `SELECT
        (SELECT maxOrNull(toUnixTimestamp64Milli(ingested_to)) FROM shadow_progress FINAL
          WHERE model_id = {model:String} AND challenger_version = {version:String}) AS done,
        (SELECT maxOrNull(toUnixTimestamp64Milli(first_seen)) FROM model_versions FINAL
          WHERE model_id = {model:String} AND model_version = {version:String}) AS since`,
      query_params: { model: c.model_id, version: c.model_version },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ done: number | null; since: number | null }>();
    const at = row?.done ?? (row?.since === null || row?.since === undefined ? 0 : Number(row.since) - 1);
    this.cursors.set(key(c), Number(at));
    return Number(at);
  }

  /** Nothing was stored in the range: move on without writing (rereading it costs little). */
  skip(c: ModelVersionRecord, to: number): void {
    this.cursors.set(key(c), to);
  }

  /** The batch up to `to` is stored: the cursor moves there, durably. */
  async save(c: ModelVersionRecord, to: number): Promise<void> {
    await this.db.client.insert({
      table: 'shadow_progress',
      values: [
        {
          model_id: c.model_id,
          challenger_version: c.model_version,
          ingested_to: to,
          updated_at: Date.now(),
        },
      ],
      format: 'JSONEachRow',
    });
    this.cursors.set(key(c), to);
  }
}
