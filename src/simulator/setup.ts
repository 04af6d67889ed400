/**
 * What an ML team does around the model's life, through the REST API with the admin key: register
 * the production version and a challenger with their ONNX artifacts, set the drift and retrain
 * policy, and set the drift reference once the reference period has been served.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundledModelFile, type BundledModel } from '../inference/index.js';
import { refusal, succeeded, type ApiAnswer, type ApiClient } from './api-client.js';
import { DATA_DIR, FEATURES } from './data.js';
import { SimulatorError } from './errors.js';
import { MODEL_ID } from './plan.js';

export const PRODUCTION: Version = { version: '1', model: 'california-forest', stage: 'production' };
export const CHALLENGER: Version = { version: '2', model: 'california-logistic', stage: 'shadow' };

interface Version {
  version: string;
  model: BundledModel;
  stage: 'production' | 'shadow';
}

/**
 * Monthly windows. The data's location features move to other regions after May 2021; the other
 * features' month-to-reference Jensen–Shannon distance stays under 0.40 over both periods, the
 * location features' is over 0.58 in every analysis month (src/simulator/README.md). Alerts on a
 * clear change of distribution, not on sampling noise: wasserstein at 0.1 flags every column here.
 */
export const POLICY = {
  drift: {
    method: 'jensenshannon',
    thresholds: { jensenshannon: 0.5 },
    evaluation_window: 'month',
    allowed_lateness: '0s',
  },
  retrain: {
    drift: { columns: ['Latitude', 'Longitude'], consecutive_windows: 2 },
    performance: { metric: 'roc_auc', min: 0.85, min_labeled: 200, label_delay: '14d' },
    cooldown: '90d',
  },
};

const VERSIONS = `/api/v1/models/${MODEL_ID}/versions`;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function registration(v: Version, artifact: Buffer) {
  const trainingFile = path.join(DATA_DIR, 'california_housing_reference.csv');
  return {
    version: v.version,
    stage: v.stage,
    task: 'binary_classification',
    positive_class: '1',
    features: FEATURES.map((name) => ({ name, type: 'number' })),
    artifact: { format: 'onnx', base64: artifact.toString('base64') },
    training_data: {
      uri: 'file://test/fixtures/drift/california_housing_reference.csv',
      sha256: sha256(readFileSync(trainingFile)),
    },
  };
}

/** Each version's stage in the registry (as registered, or as a PATCH changed it since). */
export type RegisteredStages = Record<string, string>;

/** Registers both versions (already registered with the same artifact: kept) and sets the policy. */
export async function registerModel(api: ApiClient): Promise<RegisteredStages> {
  const stages: RegisteredStages = {};
  for (const v of [PRODUCTION, CHALLENGER]) stages[v.version] = await registerVersion(api, v);
  await api.ok('PUT', `/api/v1/models/${MODEL_ID}/policy`, POLICY);
  return stages;
}

/**
 * Registers `v`; returns its stage in the registry. The service takes only an exact repeat of a
 * registration, so after a stage change (`PATCH …/versions/2 {"stage":"production"}`) an earlier
 * run's version is a 409: it is then registered again at its registered stage, which the service
 * answers 201 only when the stored artifact has the same SHA-256 and every other field matches.
 */
async function registerVersion(api: ApiClient, v: Version): Promise<string> {
  const artifact = readFileSync(bundledModelFile(v.model));
  const body = registration(v, artifact);
  const first = await api.request('POST', VERSIONS, body);
  if (first.status !== 409) {
    if (!succeeded(first)) throw refusal('POST', VERSIONS, first);
    return v.stage;
  }
  const stage = await registeredStage(api, v.version);
  if (stage === undefined || stage === v.stage) throw otherRegistration(v, first);
  const again = await api.request<{ artifact_sha256?: string }>('POST', VERSIONS, { ...body, stage });
  if (succeeded(again) && again.body.artifact_sha256 === sha256(artifact)) return stage;
  throw otherRegistration(v, again);
}

async function registeredStage(api: ApiClient, version: string): Promise<string | undefined> {
  const { models } = await api.ok<{
    models: { model_id: string; versions: { version: string; stage: string }[] }[];
  }>('GET', '/api/v1/models');
  return models.find((m) => m.model_id === MODEL_ID)?.versions.find((r) => r.version === version)?.stage;
}

/** The version is someone else's (another artifact or other fields): the story cannot use it. */
function otherRegistration(v: Version, answer: ApiAnswer<unknown>): SimulatorError {
  return new SimulatorError(
    'API_REFUSED',
    `simulator: model '${MODEL_ID}' version '${v.version}' is registered with another artifact or other fields than the story's ${v.model} (${refusal('POST', VERSIONS, answer).message}); run up on an empty MODELWATCH_DATA_DIR (or ClickHouse database), or with --no-simulator`,
  );
}

/** The reference: production's own predictions of the reference period, with their labels. */
export async function setReference(api: ApiClient, from: number, to: number): Promise<void> {
  await api.ok('PUT', `/api/v1/models/${MODEL_ID}/versions/${PRODUCTION.version}/reference`, {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  });
}
