import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { InferenceCore } from '../../src/inference/index.js';
import { ArtifactStore, ModelRegistry } from '../../src/models/index.js';
import type { RegistrationDeps } from '../../src/models/register.js';
import type { Database } from '../../src/platform/clickhouse/index.js';
import type { TestService } from './service.js';
import { FEATURES as CALIFORNIA_FEATURES } from '../../src/simulator/data.js';

export { CALIFORNIA_FEATURES };

/** Registration with `core` and a registry that is never read: for cases refused before it is. */
export function refusingRegistrationDeps(core: InferenceCore): RegistrationDeps {
  return {
    core,
    registry: { exclusive: (_m: string, _v: string, work: () => Promise<unknown>) => work() },
    artifacts: {},
  } as unknown as RegistrationDeps;
}

/**
 * Stores the bundled `synthetic-logistic-10` model as shadow version `version` of `modelId`
 * straight through the registry (no route): the shadow feed's tests start from here.
 */
export async function registerSyntheticChallenger(
  db: Database,
  modelId: string,
  version = '2',
): Promise<void> {
  const bytes = bundledArtifact('synthetic-logistic-10');
  const sha = createHash('sha256').update(bytes).digest('hex');
  await new ArtifactStore(db).put(modelId, version, sha, bytes.toString('base64'));
  await new ModelRegistry(db).register({
    modelId,
    version,
    task: 'binary_classification',
    positiveClass: '1',
    stage: 'shadow',
    artifactSha256: sha,
    trainingDataUri: 'test://synthetic',
    trainingDataSha256: '0'.repeat(64),
    featureSchema: readFileSync(
      new URL('../../data/models/synthetic-logistic-10.json', import.meta.url),
      'utf8',
    ),
  });
}

export function bundledArtifact(name: string): Buffer {
  return readFileSync(new URL(`../../data/models/${name}.onnx`, import.meta.url));
}

/** A SPEC 7 registration body for the committed California logistic model. */
export function californiaBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '2',
    stage: 'shadow',
    task: 'binary_classification',
    positive_class: '1',
    features: CALIFORNIA_FEATURES.map((name) => ({ name, type: 'number' })),
    artifact: { format: 'onnx', base64: bundledArtifact('california-logistic').toString('base64') },
    training_data: {
      uri: 'file://test/fixtures/drift/california_housing_reference.csv',
      sha256: 'a'.repeat(64),
    },
    ...overrides,
  };
}

/** An authenticated admin request with a JSON body. */
export async function send(
  service: TestService,
  method: 'POST' | 'PATCH' | 'PUT' | 'GET',
  url: string,
  body?: unknown,
): Promise<{ status: number; body: { message?: string } & Record<string, unknown> }> {
  const response = await service.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${service.config.api.adminKey ?? ''}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: response.json() };
}
