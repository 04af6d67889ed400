/**
 * Provenance of one prediction (SPEC 8): the stored prediction(s) with that id, each with its
 * model version from the registry, the labels that apply to it, its shadow scores, and every audit
 * record of an access to it with its chain and position. Reads the ingest tables (`predictions`,
 * `labels`) and `shadow_scores` with FINAL, as every API read does (effectively once).
 */
import type { ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { AUDIT_TABLE } from './store.js';

/** Audit records listed per prediction; more are counted, not returned. @default 10_000 */
export const MAX_PROVENANCE_ACCESSES = 10_000;

/** The API route whose calls are themselves accesses to a prediction (by its `id` parameter). */
export const PROVENANCE_ROUTE = 'GET /api/v1/predictions/:id/provenance';

export interface ProvenanceVersion {
  registered: boolean;
  task: string;
  stage: string;
  artifact_sha256: string | null;
  training_data: { uri: string; sha256: string | null } | null;
}

export interface ProvenancePrediction {
  model_id: string;
  model_version: string;
  timestamp: string;
  prediction: string;
  score: number | null;
  probabilities: Record<string, number>;
  latency_ms: number | null;
  status: 'ok' | 'error';
  entity_id: string | null;
  request_id: string | null;
  features: Record<string, number | string>;
  ingested_at: string;
  version: ProvenanceVersion | null;
  labels: { model_id: string | null; label: string; timestamp: string; ingested_at: string }[];
  shadow: {
    challenger_version: string;
    label: string;
    score: number | null;
    failed: boolean;
    failure: string | null;
    scored_at: string;
  }[];
}

export interface ProvenanceAccess {
  chain: string;
  position: number;
  hash: string;
  /** Why this record is listed: it names the prediction, or the prediction's data subject. */
  matched: 'prediction' | 'entity';
  record: Record<string, unknown>;
}

export interface Provenance {
  prediction_id: string;
  predictions: ProvenancePrediction[];
  accesses: ProvenanceAccess[];
  /** All matching audit records, of which at most `MAX_PROVENANCE_ACCESSES` are listed. */
  accesses_total: number;
}

export interface ProvenanceDeps {
  db: Database;
  /** The model registry's versions of one model. */
  versions(modelId: string): Promise<ModelVersionRecord[]>;
}

// ISO-8601 with milliseconds, as the API answers times everywhere (`%f` would print microseconds).
const ISO = (column: string) =>
  `concat(formatDateTime(${column}, '%Y-%m-%dT%H:%i:%S.', 'UTC'), leftPad(toString(toUnixTimestamp64Milli(${column}) % 1000), 3, '0'), 'Z')`;

async function rows<T>(db: Database, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await db.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

interface PredictionRow extends Omit<
  ProvenancePrediction,
  'version' | 'labels' | 'shadow' | 'features' | 'status' | 'entity_id' | 'request_id'
> {
  is_error: boolean | number;
  entity_id: string;
  request_id: string;
  features_num: Record<string, number>;
  features_str: Record<string, string>;
}

/**
 * The predictions with one id. The sorting key starts with model_id; the bloom-filter index on
 * prediction_id (collectors' migration 7) skips the granules without it. See README (Provenance).
 */
export const PREDICTIONS_BY_ID_SQL = `SELECT model_id, model_version, ${ISO('timestamp')} AS timestamp, prediction, score, probabilities,
            latency_ms, is_error, entity_id, request_id, features_num, features_str, ${ISO('ingested_at')} AS ingested_at
     FROM predictions FINAL WHERE prediction_id = {id:String} ORDER BY model_id, timestamp`;

function readPredictions(db: Database, id: string): Promise<PredictionRow[]> {
  return rows<PredictionRow>(db, PREDICTIONS_BY_ID_SQL, { id });
}

function readLabels(db: Database, id: string) {
  return rows<{ model_id: string; label: string; timestamp: string; ingested_at: string }>(
    db,
    `SELECT model_id, label, ${ISO('timestamp')} AS timestamp, ${ISO('ingested_at')} AS ingested_at
     FROM labels FINAL WHERE prediction_id = {id:String} ORDER BY model_id`,
    { id },
  );
}

function readShadow(db: Database, id: string) {
  return rows<{
    model_id: string;
    challenger_version: string;
    label: string;
    score: number | null;
    failed: boolean | number;
    failure: string;
    scored_at: string;
  }>(
    db,
    `SELECT model_id, challenger_version, label, score, failed, failure, ${ISO('scored_at')} AS scored_at
     FROM shadow_scores FINAL WHERE prediction_id = {id:String} ORDER BY model_id, challenger_version`,
    { id },
  );
}

/** Records naming the prediction, an API call that asked for its provenance, or its data subjects. */
function accessFilter(entities: readonly string[]): string {
  const byEntity = entities.length > 0 ? `OR entity_id IN {entities:Array(String)}` : '';
  return `(resource_type = 'prediction' AND resource_id = {id:String})
       OR (kind = 'api' AND action = {route:String} AND JSONExtractString(record, 'details', 'params', 'id') = {id:String})
       ${byEntity}`;
}

async function readAccesses(
  db: Database,
  id: string,
  entities: readonly string[],
): Promise<{ listed: ProvenanceAccess[]; total: number }> {
  const params = { id, entities, route: PROVENANCE_ROUTE, limit: MAX_PROVENANCE_ACCESSES };
  const where = accessFilter(entities);
  // LIMIT 1 BY drops a retried copy of a row (same chain and position).
  const listed = await rows<{ chain: string; position: number | string; hash: string; record: string }>(
    db,
    `SELECT chain, position, hash, record FROM ${AUDIT_TABLE} WHERE ${where}
     ORDER BY at, chain, position LIMIT 1 BY chain, position LIMIT {limit:UInt32}`,
    params,
  );
  // A list shorter than the limit is every record: counted again, a record stored between the
  // two reads (this very route's audit of an earlier call, say) made the total disagree with it.
  const total =
    listed.length < MAX_PROVENANCE_ACCESSES
      ? listed.length
      : Math.max(listed.length, await countAccesses(db, where, params));
  return {
    listed: listed.map((r) => {
      const record = JSON.parse(r.record) as Record<string, unknown>;
      return {
        chain: r.chain,
        position: Number(r.position),
        hash: r.hash,
        matched: namesPrediction(record, id) ? 'prediction' : 'entity',
        record,
      };
    }),
    total,
  };
}

/**
 * Whether a listed record matched on the prediction itself (the filter's first two terms), not
 * only on its data subject: any API call with the entity's id as a parameter matches that way.
 */
function namesPrediction(record: Record<string, unknown>, id: string): boolean {
  if (record['resource_type'] === 'prediction' && record['resource_id'] === id) return true;
  if (record['kind'] !== 'api' || record['action'] !== PROVENANCE_ROUTE) return false;
  const details = record['details'] as { params?: Record<string, unknown> } | undefined;
  return details?.params?.['id'] === id;
}

async function countAccesses(db: Database, where: string, params: Record<string, unknown>): Promise<number> {
  const [count] = await rows<{ n: number | string }>(
    db,
    `SELECT uniqExact(chain, position) AS n FROM ${AUDIT_TABLE} WHERE ${where}`,
    params,
  );
  return Number(count?.n ?? 0);
}

function versionOf(record: ModelVersionRecord | undefined): ProvenanceVersion | null {
  if (!record) return null;
  const registered = record.artifact_sha256 !== '';
  return {
    registered,
    task: record.task,
    stage: record.stage,
    artifact_sha256: registered ? record.artifact_sha256 : null,
    training_data:
      record.training_data_uri === ''
        ? null
        : { uri: record.training_data_uri, sha256: record.training_data_sha256 || null },
  };
}

/** The provenance of prediction `id`; undefined when no prediction has that id. */
export async function readProvenance(deps: ProvenanceDeps, id: string): Promise<Provenance | undefined> {
  const found = await readPredictions(deps.db, id);
  if (found.length === 0) return undefined;
  const [labels, shadow] = await Promise.all([readLabels(deps.db, id), readShadow(deps.db, id)]);
  const models = [...new Set(found.map((p) => p.model_id))];
  const registry = new Map(await Promise.all(models.map(async (m) => [m, await deps.versions(m)] as const)));
  const entities = [...new Set(found.map((p) => p.entity_id).filter((e) => e !== ''))];
  const accesses = await readAccesses(deps.db, id, entities);
  const predictions = found.map((p): ProvenancePrediction => {
    const { is_error, features_num, features_str, entity_id, request_id, ...rest } = p;
    return {
      ...rest,
      status: is_error === true || Number(is_error) === 1 ? 'error' : 'ok',
      entity_id: entity_id === '' ? null : entity_id,
      request_id: request_id === '' ? null : request_id,
      features: { ...features_num, ...features_str },
      version: versionOf(registry.get(p.model_id)?.find((v) => v.model_version === p.model_version)),
      // A label naming this model, or one naming none (as the metrics join them).
      labels: labels
        .filter((l) => l.model_id === p.model_id || l.model_id === '')
        .map((l) => ({ ...l, model_id: l.model_id === '' ? null : l.model_id })),
      shadow: shadow
        .filter((s) => s.model_id === p.model_id)
        .map(({ model_id: _m, failed, failure, ...s }) => ({
          ...s,
          failed: failed === true || Number(failed) === 1,
          failure: failure === '' ? null : failure,
        })),
    };
  });
  return { prediction_id: id, predictions, accesses: accesses.listed, accesses_total: accesses.total };
}
