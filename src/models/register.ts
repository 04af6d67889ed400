import { createHash, randomUUID } from 'node:crypto';
import {
  checkGraphClasses,
  CLASSIFIER_OPS,
  isInferenceError,
  METADATA_PROPS_KEY,
  readGraphClasses,
  readMetadataProps,
  type InferenceCore,
  type MetadataJson,
} from '../inference/index.js';
import { ModelwatchError } from '../platform/errors.js';
import type { ArtifactStore } from './artifacts.js';
import { normalizeClass } from './classes.js';
import type { ModelRegistry, ModelVersionRecord, Stage } from './registry.js';

/** The body of POST /models/:model/versions (SPEC 7), as validated by the route's schema. */
export interface RegistrationBody {
  version: string;
  stage: Stage;
  task: 'binary_classification' | 'multiclass_classification' | 'regression';
  positive_class?: string | undefined;
  /**
   * Extension: the classes in the graph's probability column order; default the artifact's own
   * metadata's, else those its graph's classifier node lists. A given or embedded list must be
   * that node's list (GRAPH_MISMATCH otherwise); only a graph without one takes any.
   */
  classes?: string[] | undefined;
  features: { name: string; type: 'number' | 'string'; categories?: string[] | undefined }[];
  artifact: { format: 'onnx'; base64: string };
  training_data: { uri: string; sha256: string };
}

export interface RegistrationDeps {
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  core: InferenceCore;
}

/** The version exists with another artifact, or with the same one and other fields: answered 409. */
export class RegistrationConflict extends Error {
  readonly code = 'REGISTRATION_CONFLICT';
  readonly retryable = false;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function badRequest(message: string): ModelwatchError {
  return new ModelwatchError('BAD_REQUEST', message);
}

/** Strict base64: Buffer.from would silently skip characters that are not base64. */
function decodeArtifact(base64: string): Buffer {
  if (base64.length === 0) throw badRequest('body/artifact/base64: empty');
  if (base64.length % 4 !== 0 || !BASE64.test(base64))
    throw badRequest(
      'body/artifact/base64: not base64 (characters A-Z a-z 0-9 + / with = padding, length a multiple of 4)',
    );
  return Buffer.from(base64, 'base64');
}

/** The artifact's own metadata (classes, input and output names) when it carries one; corrupt bytes are left to the loader. */
function embeddedMetadata(bytes: Uint8Array): Partial<MetadataJson> {
  let text: string | undefined;
  try {
    text = readMetadataProps(bytes).get(METADATA_PROPS_KEY);
  } catch {
    return {};
  }
  return text === undefined ? {} : embeddedFields(metadataObject(text));
}

/**
 * The embedded fields a registration takes (classes, input, outputs), refused here when
 * malformed: the core would name them as metadata, which the caller reads as the body's.
 */
function embeddedFields(own: Record<string, unknown>): Partial<MetadataJson> {
  const where = `body/artifact: metadata_props["${METADATA_PROPS_KEY}"]`;
  const isString = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (own['classes'] !== undefined && !(Array.isArray(own['classes']) && own['classes'].every(isString)))
    throw badRequest(`${where}.classes: expected an array of class names`);
  if (own['input'] !== undefined && !isString(own['input']))
    throw badRequest(`${where}.input: expected the graph input's name`);
  const outputs = own['outputs'];
  if (
    outputs !== undefined &&
    (typeof outputs !== 'object' ||
      outputs === null ||
      Array.isArray(outputs) ||
      !Object.values(outputs).every(isString))
  )
    throw badRequest(`${where}.outputs: expected an object of output names`);
  return own;
}

/** The embedded metadata's JSON, refused unless it is an object (fields are read off it). */
function metadataObject(text: string): Record<string, unknown> {
  const where = `body/artifact: metadata_props["${METADATA_PROPS_KEY}"]`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest(`${where} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest(
      `${where} is ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}, expected a JSON object`,
    );
  return value as Record<string, unknown>;
}

/**
 * The positive class as the graph names it: as given when it is one of the classes, else the
 * class that is the same once stored ('true' is '1' of classes '0'/'1', '1' is 'true' of string
 * classes 'false'/'true'); a class that is neither stays as given, so the refusal names it.
 */
function graphPositiveClass(given: string, classes: readonly string[]): string {
  if (classes.includes(given)) return given;
  return classes.find((c) => normalizeClass(c) === normalizeClass(given)) ?? given;
}

/** The classes the graph's classifier node lists; none when the bytes are unreadable (left to the loader). */
function graphClasses(bytes: Uint8Array): string[] | undefined {
  try {
    return readGraphClasses(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A classifier's classes: the body's, else the artifact's embedded metadata's, else those its
 * graph's classifier node lists (a plain skl2onnx export has no metadata, SPEC 7's body no
 * `classes`). None at all is refused here; the caller names corrupt bytes first.
 */
function classifierClasses(body: RegistrationBody, own: Partial<MetadataJson>, bytes: Uint8Array): string[] {
  const classes = body.classes ?? own.classes ?? graphClasses(bytes);
  if (classes !== undefined) return classes;
  throw badRequest(
    `body/classes: required for this artifact: neither its metadata_props["${METADATA_PROPS_KEY}"] nor a classifier node of its graph (ai.onnx.ml ${CLASSIFIER_OPS.join(', ')}) lists one set of classes; give them in the order of the probability columns`,
  );
}

/** The metadata the core checks the graph against: the body's declarations, the artifact's for what the body leaves out. */
export function registrationMetadata(body: RegistrationBody, bytes: Uint8Array): MetadataJson {
  const own = embeddedMetadata(bytes);
  // A regression model has no classes: any given are the core's to refuse, never defaulted.
  const classes = body.task === 'regression' ? body.classes : classifierClasses(body, own, bytes);
  return {
    task: body.task,
    ...(classes === undefined ? {} : { classes }),
    ...(body.positive_class === undefined
      ? {}
      : { positive_class: graphPositiveClass(body.positive_class, classes ?? []) }),
    features: body.features,
    ...(own.input === undefined ? {} : { input: own.input }),
    ...(own.outputs === undefined ? {} : { outputs: own.outputs }),
  };
}

/** JSON with every object's keys sorted: `{ type, name }` and `{ name, type }` are one feature. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The stored `feature_schema`; empty when unreadable, so every field of it then differs. */
function storedMetadata(featureSchema: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(featureSchema);
    return typeof value === 'object' && value !== null ? { ...value } : {};
  } catch {
    return {};
  }
}

/** A registration field that differs from the stored version's, and how, for the 409. */
export interface ChangedField {
  /** As the body names it: `stage`, `features`, `training_data.uri`… */
  field: string;
  /** The field, with the registered and given values for a scalar. */
  detail: string;
}

/**
 * The registration fields in which a registration of the stored version's own artifact differs
 * from what is stored: none when it repeats the registration. `features` and `classes` compare
 * in order (the graph's column and probability order), their objects' key order aside.
 */
export function changedFields(
  stored: ModelVersionRecord,
  body: RegistrationBody,
  metadata: MetadataJson,
): ChangedField[] {
  const changed = new Map<string, string>();
  const scalar = (field: string, was: string, given: string) => {
    if (was !== given && !changed.has(field))
      changed.set(field, `${field} ('${was}' registered, '${given}' given)`);
  };
  scalar('stage', stored.stage, body.stage);
  scalar('task', stored.task, body.task);
  scalar('positive_class', stored.positive_class, normalizeClass(metadata.positive_class ?? ''));
  // The metadata the core loads the artifact with; a task or positive class named above is not
  // named twice.
  const schema = storedMetadata(stored.feature_schema);
  const given: Record<string, unknown> = { ...metadata };
  for (const key of new Set([...Object.keys(schema), ...Object.keys(given)]))
    if (!changed.has(key) && canonical(schema[key]) !== canonical(given[key])) changed.set(key, key);
  scalar('training_data.uri', stored.training_data_uri, body.training_data.uri);
  scalar('training_data.sha256', stored.training_data_sha256, body.training_data.sha256);
  return [...changed].map(([field, detail]) => ({ field, detail }));
}

/**
 * What a registration finds stored: nothing to stop it (undefined), its exact repeat (the stored
 * version, answered as is), or a RegistrationConflict thrown.
 */
function storedRegistration(
  model: string,
  body: RegistrationBody,
  sha256: string,
  metadata: MetadataJson,
  existing: ModelVersionRecord | undefined,
): ModelVersionRecord | undefined {
  if (existing === undefined || existing.artifact_sha256 === '') return undefined;
  if (existing.artifact_sha256 !== sha256)
    throw new RegistrationConflict(
      `model '${model}' version '${body.version}' is registered with another artifact (sha256 ${existing.artifact_sha256}); register a new version`,
    );
  // Idempotent only as an exact repeat: a running scorer keeps the session it loaded for this
  // artifact (keyed by model, version and hash), so a version rewritten with other features
  // would be scored with two column mappings.
  const changed = changedFields(existing, body, metadata);
  if (changed.length === 0) return existing;
  const patch = changed.every((c) => c.field === 'stage')
    ? ` (or change its stage alone with PATCH /models/${model}/versions/${body.version})`
    : '';
  throw new RegistrationConflict(
    `model '${model}' version '${body.version}' is registered with this artifact and other ${changed.map((c) => c.detail).join(', ')}; a registered version does not change: register a new version${patch}`,
  );
}

/**
 * Loads the artifact under a throwaway key and unloads it, then checks declared classes against
 * the graph's own list: refusals are 400s naming the problem.
 */
async function checkLoads(core: InferenceCore, sha256: string, bytes: Buffer, metadata: MetadataJson) {
  try {
    // A throwaway key: the check must not leave a session behind (the shadow scorer loads its own).
    const key = `registration:${sha256}:${randomUUID()}`;
    await core.load(key, { bytes, metadata });
    await core.unload(key);
    // Once loaded: bytes, metadata and the graph's outputs are named first.
    if (metadata.classes !== undefined) checkGraphClasses(bytes, metadata.classes);
  } catch (err) {
    if (isInferenceError(err) && err.status === 400) {
      // Metadata is the body's declarations; everything else is about the artifact's bytes or graph.
      const where =
        err.code === 'METADATA_INVALID' ? 'body (features, classes, positive_class)' : 'body/artifact';
      throw badRequest(`${where}: ${err.message}`);
    }
    throw err;
  }
}

/** Refusals about the bytes themselves, named before anything their metadata_props say. */
const BYTES_CODES: ReadonlySet<string> = new Set(['ARTIFACT_INVALID', 'ARTIFACT_TOO_LARGE']);

/**
 * The registration's metadata. When the artifact's own metadata_props are refused, its bytes are
 * loaded first (with stand-in metadata): corrupt bytes whose metadata entry survived are named as
 * corrupt, not as bad metadata.
 */
async function metadataAfterBytes(
  core: InferenceCore,
  body: RegistrationBody,
  bytes: Buffer,
  sha256: string,
): Promise<MetadataJson> {
  try {
    return registrationMetadata(body, bytes);
  } catch (metadataProblem) {
    const key = `registration-bytes:${sha256}:${randomUUID()}`;
    try {
      await core.load(key, {
        bytes,
        metadata: { task: 'regression', features: [{ name: 'x', type: 'number' }] },
      });
      await core.unload(key);
    } catch (err) {
      if (isInferenceError(err) && BYTES_CODES.has(err.code))
        throw badRequest(`body/artifact: ${err.message}`);
    }
    throw metadataProblem;
  }
}

/**
 * Registers a version with its artifact: the graph is loaded and checked against the declared
 * features before anything is stored, the artifact is stored before the version names it (so a
 * version with an artifact hash always finds its bytes). One registration or correction of a
 * version at a time in this process; another instance's registration that lands first wins,
 * and this one is answered as if it had come after it (409, or the exact repeat).
 */
export function registerVersion(
  deps: RegistrationDeps,
  model: string,
  body: RegistrationBody,
): Promise<ModelVersionRecord> {
  return deps.registry.exclusive(model, body.version, async () => {
    const bytes = decodeArtifact(body.artifact.base64);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const metadata = await metadataAfterBytes(deps.core, body, bytes, sha256);
    const existing = await deps.registry.version(model, body.version);
    const repeat = storedRegistration(model, body, sha256, metadata, existing);
    if (repeat) return withoutRevision(repeat);
    await checkLoads(deps.core, sha256, bytes, metadata);
    // An artifact row whose version row then loses is never read: artifacts are read by hash.
    await deps.artifacts.put(model, body.version, sha256, body.artifact.base64);
    const outcome = await deps.registry.registerOnce({
      modelId: model,
      version: body.version,
      task: body.task,
      positiveClass: normalizeClass(metadata.positive_class ?? ''),
      stage: body.stage,
      artifactSha256: sha256,
      trainingDataUri: body.training_data.uri,
      trainingDataSha256: body.training_data.sha256,
      featureSchema: JSON.stringify(metadata),
    });
    if (outcome.won && outcome.stored) return withoutRevision(outcome.stored);
    const first = storedRegistration(model, body, sha256, metadata, outcome.stored);
    if (first) return withoutRevision(first);
    throw new RegistrationConflict(
      `model '${model}' version '${body.version}' was registered or corrected by another request meanwhile; read it and retry`,
    );
  });
}

function withoutRevision(stored: ModelVersionRecord & { revision?: number }): ModelVersionRecord {
  const { revision: _, ...record } = stored;
  return record;
}
