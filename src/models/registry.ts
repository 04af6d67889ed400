import type { Database } from '../platform/clickhouse/index.js';
import type { Task } from './task.js';

export const STAGES = ['production', 'shadow', 'archived'] as const;
export type Stage = (typeof STAGES)[number];

/** A correction made through the API (PATCH /models/:model/versions/:version). */
export interface VersionCorrection {
  task?: Task | undefined;
  positive_class?: string | undefined;
  stage?: Stage | undefined;
}

export interface ModelVersionRecord {
  model_id: string;
  model_version: string;
  task: Task;
  task_source: 'inferred' | 'declared';
  positive_class: string;
  stage: Stage;
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

  /**
   * Writes a new revision of a known version with the corrected fields (the rest kept), so it
   * outranks inference and earlier corrections; undefined when the version is unknown.
   */
  async correct(modelId: string, version: string, changes: VersionCorrection, now = Date.now()): Promise<ModelVersionRecord | undefined> {
    const result = await this.db.client.query({
      query: `SELECT *, toUnixTimestamp64Milli(first_seen) AS first_seen_ms FROM model_versions FINAL
              WHERE model_id = {model:String} AND model_version = {version:String}`,
      query_params: { model: modelId, version },
      format: 'JSONEachRow',
    });
    const [current] = await result.json<Omit<ModelVersionRecord, 'first_seen'> & { revision: number; first_seen_ms: number }>();
    if (!current) return undefined;
    const { first_seen_ms: firstSeen, revision, ...fields } = current;
    await this.db.client.insert({
      table: 'model_versions',
      format: 'JSONEachRow',
      values: [
        {
          ...fields,
          first_seen: firstSeen,
          ...(changes.task === undefined ? {} : { task: changes.task, task_source: 'declared' }),
          ...(changes.positive_class === undefined ? {} : { positive_class: changes.positive_class }),
          ...(changes.stage === undefined ? {} : { stage: changes.stage }),
          // A clock that stepped back must not let an older revision win.
          revision: Math.max(now, revision + 1),
        },
      ],
    });
    const [updated] = await this.list(modelId).then((all) => all.filter((r) => r.model_version === version));
    return updated;
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
