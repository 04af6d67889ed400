/**
 * `model_policy_sections`: a model's policy as named JSON sections (`drift`, `retrain`,
 * `segments`), one row per section. A PUT writes the sections it names and keeps the others; the
 * latest revision of each section wins, so PUTs of different sections at the same time both stay.
 */
import type { Database } from '../../platform/clickhouse/index.js';
import { insertJsonRows } from './references.js';

export interface StoredPolicy {
  sections: Record<string, unknown>;
  revision: number;
  updatedAt: number;
  updatedBy: string;
}

export class PolicyStore {
  constructor(private readonly db: Database) {}

  async get(modelId: string): Promise<StoredPolicy | undefined> {
    const result = await this.db.client.query({
      query: `SELECT section, body, revision, toUnixTimestamp64Milli(updated_at) AS updated_ms, updated_by
              FROM model_policy_sections FINAL WHERE model_id = {model:String}
              ORDER BY revision`,
      query_params: { model: modelId },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{
      section: string;
      body: string;
      revision: number;
      updated_ms: number;
      updated_by: string;
    }>();
    const latest = rows.at(-1);
    if (!latest) return undefined;
    return {
      sections: Object.fromEntries(rows.map((r) => [r.section, JSON.parse(r.body) as unknown])),
      revision: Number(latest.revision),
      updatedAt: Number(latest.updated_ms),
      updatedBy: latest.updated_by,
    };
  }

  async put(
    modelId: string,
    sections: Record<string, unknown>,
    updatedBy: string,
    now = Date.now(),
  ): Promise<StoredPolicy> {
    const current = await this.get(modelId);
    const policy: StoredPolicy = {
      sections: { ...current?.sections, ...sections },
      // A clock that stepped back must not let an older revision win.
      revision: Math.max(now, (current?.revision ?? 0) + 1),
      updatedAt: now,
      updatedBy,
    };
    await insertJsonRows(
      this.db,
      'model_policy_sections',
      Object.entries(sections).map(([section, body]) => ({
        model_id: modelId,
        section,
        body: JSON.stringify(body),
        revision: policy.revision,
        updated_by: updatedBy,
        updated_at: now,
      })),
    );
    return policy;
  }
}
