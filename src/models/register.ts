import { createHash, randomUUID } from 'node:crypto';
import {
  isInferenceError,
  METADATA_PROPS_KEY,
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
  /** Extension: the classes in the graph's probability column order; default the artifact's own metadata. */
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

/** The version exists with another artifact: answered 409. */
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
  return text === undefined ? {} : metadataObject(text);
}

/** The embedded metadata's JSON, refused unless it is an object (fields are read off it). */
function metadataObject(text: string): Partial<MetadataJson> {
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
  return value;
}

/** The metadata the core checks the graph against: the body's declarations, the artifact's for what the body leaves out. */
export function registrationMetadata(body: RegistrationBody, bytes: Uint8Array): MetadataJson {
  const own = embeddedMetadata(bytes);
  // No classes anywhere: the core refuses the metadata, after it refused corrupt bytes (named first).
  // A regression model has no classes: any given are the core's to refuse, never defaulted.
  const classes = body.task === 'regression' ? body.classes : (body.classes ?? own.classes ?? []);
  return {
    task: body.task,
    ...(classes === undefined ? {} : { classes }),
    ...(body.positive_class === undefined ? {} : { positive_class: normalizeClass(body.positive_class) }),
    features: body.features,
    ...(own.input === undefined ? {} : { input: own.input }),
    ...(own.outputs === undefined ? {} : { outputs: own.outputs }),
  };
}

/**
 * Registers a version with its artifact: the graph is loaded and checked against the declared
 * features before anything is stored, the artifact is stored before the version names it (so a
 * version with an artifact hash always finds its bytes).
 */
export async function registerVersion(
  deps: RegistrationDeps,
  model: string,
  body: RegistrationBody,
): Promise<ModelVersionRecord> {
  const bytes = decodeArtifact(body.artifact.base64);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const metadata = registrationMetadata(body, bytes);
  const existing = (await deps.registry.list(model)).find((v) => v.model_version === body.version);
  if (existing && existing.artifact_sha256 !== '' && existing.artifact_sha256 !== sha256)
    throw new RegistrationConflict(
      `model '${model}' version '${body.version}' is registered with another artifact (sha256 ${existing.artifact_sha256}); register a new version`,
    );
  try {
    // A throwaway key: the check must not leave a session behind (the shadow scorer loads its own).
    const key = `registration:${sha256}:${randomUUID()}`;
    await deps.core.load(key, { bytes, metadata });
    await deps.core.unload(key);
  } catch (err) {
    if (isInferenceError(err) && err.status === 400) {
      // Metadata is the body's declarations; everything else is about the artifact's bytes or graph.
      const where =
        err.code === 'METADATA_INVALID' ? 'body (features, classes, positive_class)' : 'body/artifact';
      throw badRequest(`${where}: ${err.message}`);
    }
    throw err;
  }
  await deps.artifacts.put(model, body.version, sha256, body.artifact.base64);
  return deps.registry.register({
    modelId: model,
    version: body.version,
    task: body.task,
    positiveClass: metadata.positive_class ?? '',
    stage: body.stage,
    artifactSha256: sha256,
    trainingDataUri: body.training_data.uri,
    trainingDataSha256: body.training_data.sha256,
    featureSchema: JSON.stringify(metadata),
  });
}
