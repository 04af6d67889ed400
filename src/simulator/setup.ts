/**
 * What an ML team does around the model's life, through the REST API with the admin key: register
 * the production version and a challenger with their ONNX artifacts, set the drift and retrain
 * policy, and set the drift reference once the reference period has been served.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundledModelFile, type BundledModel } from '../inference/index.js';
import type { ApiClient } from './api-client.js';
import { DATA_DIR, FEATURES } from './data.js';
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

function registration(v: Version) {
  const trainingFile = path.join(DATA_DIR, 'california_housing_reference.csv');
  return {
    version: v.version,
    stage: v.stage,
    task: 'binary_classification',
    positive_class: '1',
    features: FEATURES.map((name) => ({ name, type: 'number' })),
    artifact: { format: 'onnx', base64: readFileSync(bundledModelFile(v.model)).toString('base64') },
    training_data: {
      uri: 'file://test/fixtures/drift/california_housing_reference.csv',
      sha256: createHash('sha256').update(readFileSync(trainingFile)).digest('hex'),
    },
  };
}

/** Registers both versions (a repeat with the same artifact is accepted) and sets the policy. */
export async function registerModel(api: ApiClient): Promise<void> {
  for (const v of [PRODUCTION, CHALLENGER])
    await api.ok('POST', `/api/v1/models/${MODEL_ID}/versions`, registration(v));
  await api.ok('PUT', `/api/v1/models/${MODEL_ID}/policy`, POLICY);
}

/** The reference: production's own predictions of the reference period, with their labels. */
export async function setReference(api: ApiClient, from: number, to: number): Promise<void> {
  await api.ok('PUT', `/api/v1/models/${MODEL_ID}/versions/${PRODUCTION.version}/reference`, {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
  });
}
