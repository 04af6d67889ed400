/** Legal holds per model (`legal_holds`): while a model is held, retention deletes none of its data. */
import type { Database } from '../platform/clickhouse/index.js';
import { AUDIT_TABLE } from './store.js';

export interface LegalHold {
  model_id: string;
  held: boolean;
  reason: string;
  principal: string;
  at: string;
}

export class LegalHolds {
  constructor(private readonly db: Database) {}

  /**
   * Whether retention has anything of `modelId` to keep: its labels, access events or audit records
   * (its predictions register a version). A model seen only in access logs or labels is held too.
   * API-call records do not count: each call names the model of its path, so a refused call on a
   * misspelt model (a 404) would make that name known to the next one.
   */
  async hasRecords(modelId: string): Promise<boolean> {
    const any = (table: string, where = '') =>
      `(SELECT count() FROM (SELECT 1 FROM ${table} WHERE model_id = {model:String}${where} LIMIT 1))`;
    const sources = [any('labels'), any('access_log'), any(AUDIT_TABLE, " AND kind != 'api'")];
    const result = await this.db.client.query({
      query: `SELECT ${sources.join(' + ')} AS n`,
      query_params: { model: modelId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: number | string }>();
    return Number(row?.n ?? 0) > 0;
  }

  /** Sets (held) or releases a hold; the latest revision wins. */
  async write(
    modelId: string,
    held: boolean,
    reason: string,
    principal: string,
    now = Date.now(),
  ): Promise<LegalHold> {
    // Past the stored revision, not the last row's time: a revision can be ahead of its row's
    // time (its writer's clock was behind an earlier writer's), and a lower one loses under FINAL.
    const revision = Math.max(now, (await this.lastRevision(modelId)) + 1);
    await this.db.client.insert({
      table: 'legal_holds',
      format: 'JSONEachRow',
      values: [{ model_id: modelId, held, reason, principal, at: now, revision }],
    });
    return { model_id: modelId, held, reason, principal, at: new Date(now).toISOString() };
  }

  private async lastRevision(modelId: string): Promise<number> {
    const result = await this.db.client.query({
      query: 'SELECT max(revision) AS revision FROM legal_holds WHERE model_id = {model:String}',
      query_params: { model: modelId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ revision: number | string }>();
    return Number(row?.revision ?? 0);
  }

  async get(modelId: string): Promise<LegalHold | undefined> {
    return (await this.list(modelId))[0];
  }

  /** Every model that ever had a hold, held or released, by model. */
  async list(modelId?: string): Promise<LegalHold[]> {
    const result = await this.db.client.query({
      query: `SELECT model_id, held, reason, principal, toUnixTimestamp64Milli(at) AS at_ms FROM legal_holds FINAL
              ${modelId === undefined ? '' : 'WHERE model_id = {model:String}'} ORDER BY model_id`,
      query_params: modelId === undefined ? {} : { model: modelId },
      format: 'JSONEachRow',
    });
    const rows = await result.json<
      Omit<LegalHold, 'at' | 'held'> & { held: boolean | number; at_ms: number | string }
    >();
    return rows.map(({ at_ms, held, ...r }) => ({
      ...r,
      held: held === true || Number(held) === 1,
      at: new Date(Number(at_ms)).toISOString(),
    }));
  }

  /** Models under hold now. */
  async held(): Promise<string[]> {
    return (await this.list()).filter((h) => h.held).map((h) => h.model_id);
  }
}
