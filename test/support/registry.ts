import { readFileSync } from 'node:fs';
import type { TestService } from './service.js';
import { FEATURES as CALIFORNIA_FEATURES } from '../../src/simulator/data.js';

export { CALIFORNIA_FEATURES };

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
  method: 'POST' | 'PATCH',
  url: string,
  body: unknown,
): Promise<{ status: number; body: { message?: string } & Record<string, unknown> }> {
  const response = await service.app.inject({
    method,
    url,
    headers: {
      authorization: `Bearer ${service.config.api.adminKey ?? ''}`,
      'content-type': 'application/json',
    },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.statusCode, body: response.json() };
}
