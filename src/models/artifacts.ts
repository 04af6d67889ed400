import type { Database } from '../platform/clickhouse/index.js';

/** One stored ONNX artifact, as registered. */
export interface StoredArtifact {
  sha256: string;
  bytes: Buffer;
}

/**
 * ONNX artifacts in ClickHouse (`model_artifacts`), not the data dir: every instance of the
 * service reads the same ClickHouse, while each instance's data dir is its own, so an artifact
 * registered through one instance is scored by the shadow consumer of any other, and survives
 * a restart or a replaced container. Stored as base64 text (what the API received), so the
 * JSON formats carry it unescaped.
 */
export class ArtifactStore {
  constructor(private readonly db: Database) {}

  async put(
    modelId: string,
    version: string,
    sha256: string,
    base64: string,
    now = Date.now(),
  ): Promise<void> {
    await this.db.client.insert({
      table: 'model_artifacts',
      format: 'JSONEachRow',
      values: [{ model_id: modelId, model_version: version, sha256, base64, stored_at: now }],
    });
  }

  /** The artifact of a version with the given SHA-256, or undefined when none is stored. */
  async get(modelId: string, version: string, sha256: string): Promise<StoredArtifact | undefined> {
    const result = await this.db.client.query({
      query: `SELECT sha256, base64 FROM model_artifacts FINAL
              WHERE model_id = {model:String} AND model_version = {version:String} AND sha256 = {sha:String}`,
      query_params: { model: modelId, version, sha: sha256 },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ sha256: string; base64: string }>();
    return row === undefined ? undefined : { sha256: row.sha256, bytes: Buffer.from(row.base64, 'base64') };
  }
}
