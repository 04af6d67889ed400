import type { Database } from '../platform/clickhouse/index.js';
import type { Task } from './task.js';

export interface ModelVersionRecord {
  model_id: string;
  model_version: string;
  task: Task;
  task_source: 'inferred' | 'declared';
  positive_class: string;
  stage: 'production' | 'shadow' | 'archived';
  first_seen: string;
  artifact_sha256: string;
  training_data_uri: string;
  training_data_sha256: string;
  feature_schema: string;
}

/** The `model_versions` table. A model version is known once seen in traffic or registered. */
export class ModelRegistry {
  private readonly seen = new Set<string>();
  private loaded = false;

  constructor(private readonly db: Database) {}

  private static key(modelId: string, version: string): string {
    return `${modelId}\0${version}`;
  }

  /** Records versions first seen in traffic, with the task inferred from their first prediction. */
  async registerSeen(seen: { modelId: string; version: string; task: Task; firstSeen: number }[]): Promise<void> {
    if (!this.loaded) await this.loadKnown();
    const fresh = seen.filter((s) => !this.seen.has(ModelRegistry.key(s.modelId, s.version)));
    if (fresh.length === 0) return;
    // revision 0: a version registered or corrected through the API always outranks inference.
    await this.db.client.insert({
      table: 'model_versions',
      format: 'JSONEachRow',
      values: fresh.map((s) => ({
        model_id: s.modelId,
        model_version: s.version,
        task: s.task,
        task_source: 'inferred',
        first_seen: s.firstSeen,
        revision: 0,
      })),
    });
    for (const s of fresh) this.seen.add(ModelRegistry.key(s.modelId, s.version));
  }

  async list(modelId?: string): Promise<ModelVersionRecord[]> {
    const result = await this.db.client.query({
      query: `SELECT model_id, model_version, task, task_source, positive_class, stage,
                     formatDateTime(first_seen, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen,
                     artifact_sha256, training_data_uri, training_data_sha256, feature_schema
              FROM model_versions FINAL
              ${modelId === undefined ? '' : 'WHERE model_id = {model:String}'}
              ORDER BY model_id, model_version`,
      query_params: modelId === undefined ? {} : { model: modelId },
      format: 'JSONEachRow',
    });
    return result.json<ModelVersionRecord>();
  }

  private async loadKnown(): Promise<void> {
    const result = await this.db.client.query({
      query: 'SELECT DISTINCT model_id, model_version FROM model_versions',
      format: 'JSONEachRow',
    });
    for (const row of await result.json<{ model_id: string; model_version: string }>()) {
      this.seen.add(ModelRegistry.key(row.model_id, row.model_version));
    }
    this.loaded = true;
  }
}
