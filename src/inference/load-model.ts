/**
 * Loads a model from bytes or a file, with its metadata from (in this order) the caller, a
 * sidecar JSON file, or the model's own `metadata_props["modelwatch"]`.
 */
import { readFile, stat } from 'node:fs/promises';
import { errorText, InferenceError } from './errors.js';
import { METADATA_PROPS_KEY, parseMetadata, parseMetadataJson, type ModelMetadata } from './metadata.js';
import { OnnxModel } from './onnx-model.js';
import { readMetadataProps } from './onnx-metadata-props.js';
import { resolveOptions, type InferenceOptions } from './options.js';

export interface ModelArtifact {
  /** The ONNX model's bytes. */
  readonly bytes: Uint8Array;
  /**
   * Metadata from the caller (a registry body, a parsed sidecar), as snake_case JSON; it wins over
   * the model's `metadata_props`. Omitted: `metadata_props["modelwatch"]` must hold it.
   */
  readonly metadata?: unknown;
}

export interface ModelFileOptions extends InferenceOptions {
  /**
   * The sidecar metadata file. Omitted: `NAME.json` beside `NAME.onnx` when it exists, else the
   * model's `metadata_props`.
   */
  readonly sidecar?: string;
}

function embeddedMetadata(bytes: Uint8Array): ModelMetadata {
  const text = readMetadataProps(bytes).get(METADATA_PROPS_KEY);
  if (text === undefined) {
    throw new InferenceError(
      'METADATA_INVALID',
      `model metadata missing: none given and no metadata_props["${METADATA_PROPS_KEY}"] in the artifact`,
    );
  }
  return parseMetadataJson(text, `metadata_props["${METADATA_PROPS_KEY}"]`);
}

function tooLarge(size: number, max: number): InferenceError {
  return new InferenceError(
    'ARTIFACT_TOO_LARGE',
    `ONNX artifact of ${size} bytes is over the ${max}-byte limit`,
  );
}

/** Loads one model; every refusal is an `InferenceError` with a code (see errors.ts). */
export async function loadModel(artifact: ModelArtifact, options?: InferenceOptions): Promise<OnnxModel> {
  const resolved = resolveOptions(options);
  const { bytes } = artifact;
  if (bytes.length > resolved.maxArtifactBytes) throw tooLarge(bytes.length, resolved.maxArtifactBytes);
  const given = artifact.metadata;
  return OnnxModel.create(
    bytes,
    () => (given === undefined ? embeddedMetadata(bytes) : parseMetadata(given, 'given')),
    resolved,
  );
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InferenceError('ARTIFACT_UNREADABLE', `cannot read ${file}: ${errorText(err)}`, { cause: err });
  }
}

/** Loads `NAME.onnx` with its sidecar `NAME.json` when there is one. */
export async function loadModelFile(file: string, options: ModelFileOptions = {}): Promise<OnnxModel> {
  const resolved = resolveOptions(options);
  let bytes: Uint8Array;
  try {
    const { size } = await stat(file);
    if (size > resolved.maxArtifactBytes) throw tooLarge(size, resolved.maxArtifactBytes);
    bytes = await readFile(file);
  } catch (err) {
    if (err instanceof InferenceError) throw err;
    throw new InferenceError('ARTIFACT_UNREADABLE', `cannot read ${file}: ${errorText(err)}`, { cause: err });
  }
  const sidecarPath = options.sidecar ?? `${file.replace(/\.onnx$/, '')}.json`;
  const sidecar = sidecarPath === file ? null : await readText(sidecarPath);
  if (sidecar === null && options.sidecar !== undefined) {
    throw new InferenceError('ARTIFACT_UNREADABLE', `sidecar ${options.sidecar} not found`);
  }
  const metadata = () =>
    sidecar === null ? embeddedMetadata(bytes) : parseMetadataJson(sidecar, sidecarPath);
  return OnnxModel.create(bytes, metadata, resolved);
}
