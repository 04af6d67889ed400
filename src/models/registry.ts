import type { Database } from '../platform/clickhouse/index.js';
import { KeyedLock } from './keyed-lock.js';
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

/** The version's latest row with its revision (ReplacingMergeTree's version column). */
export interface StoredVersion extends ModelVersionRecord {
  revision: number;
}

/** The version was rewritten after the caller read it (PATCH): answered 409, retry. */
export class VersionChanged extends Error {
  readonly code = 'VERSION_CHANGED';
  readonly retryable = true;
}

/** A registration written only if no other was stored first; `won` when the stored row is this one. */
export interface RegistrationOutcome {
  won: boolean;
  /** The version's latest row after the attempt (the other registration's when not won). */
  stored: StoredVersion | undefined;
}

/** A version registered through the API with its artifact (POST /models/:model/versions). */
export interface Registration {
  modelId: string;
  version: string;
  task: Task;
  positiveClass: string;
  stage: Stage;
  artifactSha256: string;
  trainingDataUri: string;
  trainingDataSha256: string;
  /** The metadata the core loads the artifact with (JSON). */
  featureSchema: string;
}

/** A version seen in traffic, with the task inferred from its predictions. */
export interface SeenVersion {
  modelId: string;
  version: string;
  task: Task;
  firstSeen: number;
  /**
   * Every prediction seen of it failed (`status: "error"`, often without a score, so a binary
   * classifier reads as regression): the version is known (listed, its error rate served), and
   * the task is inferred again from its first prediction that does not fail. @default false
   */
  fromErrors?: boolean;
}

/**
 * Revisions written for traffic, below any API change's (now in ms): a task inferred from failed
 * predictions only, then one inferred from a prediction that did not fail, which replaces it. A
 * row of an earlier release (0 for both) is inferred again once, the same way.
 */
const INFERRED_FROM_ERRORS = 0;
const INFERRED = 1;

/** The `model_versions` table. A model version is known once seen in traffic or registered. */
export class ModelRegistry {
  /** Versions whose task is settled: inferred from a prediction that did not fail, or given through the API. */
  private readonly seen = new Set<string>();
  /** Versions known from failed predictions only, with their first_seen (ms). */
  private readonly fromErrors = new Map<string, number>();
  private loaded = false;
  private readonly lock = new KeyedLock();

  constructor(private readonly db: Database) {}

  private static key(modelId: string, version: string): string {
    return `${modelId}\0${version}`;
  }

  /**
   * Records versions first seen in traffic, with the task inferred from their predictions; a version
   * known from failed predictions only is written again at its first that did not fail.
   */
  async registerSeen(seen: SeenVersion[]): Promise<void> {
    if (!this.loaded) await this.loadKnown();
    const rows = seen.flatMap((s) => this.rowToWrite(s));
    if (rows.length === 0) return;
    await this.db.client.insert({ table: 'model_versions', format: 'JSONEachRow', values: rows });
    for (const s of seen) this.remember(s);
  }

  private remember(s: SeenVersion): void {
    const key = ModelRegistry.key(s.modelId, s.version);
    if (!s.fromErrors) {
      this.seen.add(key);
      this.fromErrors.delete(key);
    } else if (!this.seen.has(key) && !this.fromErrors.has(key)) this.fromErrors.set(key, s.firstSeen);
  }

  /** The row a version seen in traffic needs, if any. */
  private rowToWrite(s: SeenVersion): object[] {
    const key = ModelRegistry.key(s.modelId, s.version);
    const knownSince = this.fromErrors.get(key);
    if (this.seen.has(key) || (s.fromErrors && knownSince !== undefined)) return [];
    return [
      {
        model_id: s.modelId,
        model_version: s.version,
        task: s.task,
        task_source: 'inferred',
        first_seen: Math.min(s.firstSeen, knownSince ?? s.firstSeen),
        revision: s.fromErrors ? INFERRED_FROM_ERRORS : INFERRED,
      },
    ];
  }

  /**
   * Runs `work` alone among this process's registrations and corrections of the version: their
   * check-then-write must not interleave (instances meet only in ClickHouse, see `registerOnce`).
   */
  exclusive<T>(modelId: string, version: string, work: () => Promise<T>): Promise<T> {
    return this.lock.run(ModelRegistry.key(modelId, version), work);
  }

  /** The version's latest row with its revision, undefined when unknown. */
  async version(modelId: string, version: string): Promise<StoredVersion | undefined> {
    const result = await this.db.client.query({
      query: `SELECT model_id, model_version, task, task_source, positive_class, stage,
                     formatDateTime(first_seen, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS first_seen,
                     artifact_sha256, training_data_uri, training_data_sha256, feature_schema, revision
              FROM model_versions FINAL
              WHERE model_id = {model:String} AND model_version = {version:String}`,
      query_params: { model: modelId, version },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<StoredVersion>();
    return row === undefined ? undefined : { ...row, revision: Number(row.revision) };
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
   * Writes a new revision of a known version with the corrected fields (the rest kept from its
   * latest row), so it outranks inference and earlier corrections; undefined when the version is
   * unknown. With `expectedRevision`, throws VersionChanged when the latest row is not the one
   * the caller checked: the correction would otherwise copy fields it never saw.
   */
  async correct(
    modelId: string,
    version: string,
    changes: VersionCorrection,
    { expectedRevision, now = Date.now() }: { expectedRevision?: number | undefined; now?: number } = {},
  ): Promise<ModelVersionRecord | undefined> {
    const result = await this.db.client.query({
      query: `SELECT *, toUnixTimestamp64Milli(first_seen) AS first_seen_ms FROM model_versions FINAL
              WHERE model_id = {model:String} AND model_version = {version:String}`,
      query_params: { model: modelId, version },
      format: 'JSONEachRow',
    });
    const [current] = await result.json<
      Omit<ModelVersionRecord, 'first_seen'> & { revision: number; first_seen_ms: number }
    >();
    if (!current) return undefined;
    const { first_seen_ms: firstSeen, revision, ...fields } = current;
    if (expectedRevision !== undefined && Number(revision) !== expectedRevision)
      throw new VersionChanged(
        `model '${modelId}' version '${version}' changed while this request was checked (registered or corrected meanwhile); read it again and retry`,
      );
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
          revision: Math.max(now, Number(revision) + 1),
        },
      ],
    });
    const [updated] = await this.list(modelId).then((all) => all.filter((r) => r.model_version === version));
    return updated;
  }

  /**
   * Writes a registered version as a new revision (it outranks inference and earlier revisions);
   * `first_seen` stays the earlier of the known one and now.
   */
  async register(r: Registration, now = Date.now()): Promise<ModelVersionRecord> {
    await this.writeRegistration(r, await this.version(r.modelId, r.version), now);
    const stored = await this.version(r.modelId, r.version);
    if (!stored) throw new Error(`model version '${r.modelId}' '${r.version}' not readable after its insert`);
    return stored;
  }

  /**
   * Registers the version unless a registration (a row with an artifact) is stored already, and
   * tells whether the row stored afterwards is this one. Instances share no lock, so both are
   * checked in ClickHouse: just before the insert, and after it (a later insert of another
   * instance outranks this one). What is left is a window of about one query: another instance
   * that checked before this insert and inserts after this re-read also wins its own re-read.
   */
  async registerOnce(r: Registration, now = Date.now()): Promise<RegistrationOutcome> {
    const current = await this.version(r.modelId, r.version);
    if (current !== undefined && current.artifact_sha256 !== '') return { won: false, stored: current };
    const revision = await this.writeRegistration(r, current, now);
    const stored = await this.version(r.modelId, r.version);
    return { won: stored !== undefined && isOwnRegistration(stored, r, revision), stored };
  }

  private async writeRegistration(
    r: Registration,
    current: StoredVersion | undefined,
    now: number,
  ): Promise<number> {
    const revision = Math.max(now, (current?.revision ?? 0) + 1);
    await this.db.client.insert({
      table: 'model_versions',
      format: 'JSONEachRow',
      values: [
        {
          model_id: r.modelId,
          model_version: r.version,
          task: r.task,
          task_source: 'declared',
          positive_class: r.positiveClass,
          stage: r.stage,
          first_seen: Math.min(now, current === undefined ? now : Date.parse(current.first_seen)),
          artifact_sha256: r.artifactSha256,
          training_data_uri: r.trainingDataUri,
          training_data_sha256: r.trainingDataSha256,
          feature_schema: r.featureSchema,
          revision,
        },
      ],
    });
    this.seen.add(ModelRegistry.key(r.modelId, r.version));
    return revision;
  }

  /** Versions in stage `shadow` that carry an artifact: the challengers the shadow scorer runs. */
  async challengers(): Promise<ModelVersionRecord[]> {
    return (await this.list()).filter((v) => v.stage === 'shadow' && v.artifact_sha256 !== '');
  }

  /**
   * Whether the version ever predicted `cls` (classes compared as `normalizeClass` stores them), and
   * up to 10 classes it did predict, for the message when it did not.
   */
  async predictedClass(
    modelId: string,
    version: string,
    cls: string,
  ): Promise<{ found: boolean; seen: string[] }> {
    const norm = `multiIf(prediction = 'true', '1', prediction = 'false', '0', prediction)`;
    const where = 'model_id = {model:String} AND model_version = {version:String}';
    const params = { model: modelId, version, cls };
    const found = await this.db.client.query({
      query: `SELECT count() AS n FROM (SELECT 1 FROM predictions WHERE ${where} AND ${norm} = {cls:String} LIMIT 1)`,
      query_params: params,
      format: 'JSONEachRow',
    });
    const [row] = await found.json<{ n: number }>();
    if (Number(row?.n ?? 0) > 0) return { found: true, seen: [] };
    const seen = await this.db.client.query({
      query: `SELECT DISTINCT ${norm} AS c FROM predictions WHERE ${where} LIMIT 10`,
      query_params: params,
      format: 'JSONEachRow',
    });
    return { found: false, seen: (await seen.json<{ c: string }>()).map((r) => r.c).sort() };
  }

  private async loadKnown(): Promise<void> {
    const result = await this.db.client.query({
      query: `SELECT model_id, model_version, max(revision) > ${INFERRED_FROM_ERRORS} AS settled,
                     toUnixTimestamp64Milli(min(first_seen)) AS first_seen
              FROM model_versions GROUP BY model_id, model_version`,
      format: 'JSONEachRow',
    });
    type Known = { model_id: string; model_version: string; settled: number | boolean; first_seen: string };
    for (const row of await result.json<Known>()) {
      const key = ModelRegistry.key(row.model_id, row.model_version);
      if (Number(row.settled) === 1) this.seen.add(key);
      else this.fromErrors.set(key, Number(row.first_seen));
    }
    this.loaded = true;
  }
}

/**
 * Whether the stored row is the registration written at `revision`: that row, or a later
 * correction of it (which keeps every registered field but the stage).
 */
function isOwnRegistration(stored: StoredVersion, r: Registration, revision: number): boolean {
  const registered =
    stored.artifact_sha256 === r.artifactSha256 &&
    stored.task === r.task &&
    stored.positive_class === r.positiveClass &&
    stored.feature_schema === r.featureSchema &&
    stored.training_data_uri === r.trainingDataUri &&
    stored.training_data_sha256 === r.trainingDataSha256;
  return (
    registered && (stored.revision > revision || (stored.revision === revision && stored.stage === r.stage))
  );
}
