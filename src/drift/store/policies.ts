/**
 * `model_policies`: a model's policy as named JSON sections (`drift` here; a retrain policy can
 * add its own). A PUT replaces the sections it names and keeps the others; the latest revision wins.
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
      query: `SELECT policy, revision, toUnixTimestamp64Milli(updated_at) AS updated_ms, updated_by
              FROM model_policies FINAL WHERE model_id = {model:String}`,
      query_params: { model: modelId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{
      policy: string;
      revision: number;
      updated_ms: number;
      updated_by: string;
    }>();
    if (!row) return undefined;
    return {
      sections: JSON.parse(row.policy) as Record<string, unknown>,
      revision: Number(row.revision),
      updatedAt: Number(row.updated_ms),
      updatedBy: row.updated_by,
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
    await insertJsonRows(this.db, 'model_policies', [
      {
        model_id: modelId,
        policy: JSON.stringify(policy.sections),
        revision: policy.revision,
        updated_by: updatedBy,
        updated_at: now,
      },
    ]);
    return policy;
  }
}
