import { describe, expect, it } from 'vitest';
import { changedFields, registrationMetadata, type RegistrationBody } from '../../../src/models/register.js';
import type { ModelVersionRecord } from '../../../src/models/registry.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';

/** A registration of a stored version's own artifact repeats it, or names what it would change. */

const bytes = linearClassifierOnnx({
  weights: [1, 2, 3],
  bias: 0,
  metadataProps: { modelwatch: '{"classes":["0","1"]}' },
});

const body = (overrides: Partial<RegistrationBody> = {}): RegistrationBody => ({
  version: '2',
  stage: 'shadow',
  task: 'binary_classification',
  positive_class: '1',
  features: ['a', 'b', 'c'].map((name) => ({ name, type: 'number' as const })),
  artifact: { format: 'onnx', base64: '' },
  training_data: { uri: 'test://x', sha256: '0'.repeat(64) },
  ...overrides,
});

/** The version as registerVersion stores `b`. */
function stored(b: RegistrationBody): ModelVersionRecord {
  const metadata = registrationMetadata(b, bytes);
  return {
    model_id: 'm',
    model_version: b.version,
    task: b.task,
    task_source: 'declared',
    positive_class: metadata.positive_class ?? '',
    stage: b.stage,
    first_seen: '2026-01-01T00:00:00.000Z',
    artifact_sha256: 'f'.repeat(64),
    training_data_uri: b.training_data.uri,
    training_data_sha256: b.training_data.sha256,
    feature_schema: JSON.stringify(metadata),
  };
}

const changes = (b: RegistrationBody) =>
  changedFields(stored(body()), b, registrationMetadata(b, bytes)).map((c) => c.field);

describe('changedFields', () => {
  it('finds nothing in an exact repeat, whatever the key order of its objects', () => {
    expect(changes(body())).toEqual([]);
    // 'true' is stored as '1'; the classes the body leaves out are the artifact's, as stored.
    expect(changes(body({ positive_class: 'true', classes: ['0', '1'] }))).toEqual([]);
    expect(changes(body({ features: ['a', 'b', 'c'].map((name) => ({ type: 'number', name })) }))).toEqual(
      [],
    );
  });

  it('names every field that differs', () => {
    expect(
      changes(body({ features: ['c', 'b', 'a'].map((name) => ({ name, type: 'number' as const })) })),
    ).toEqual(['features']);
    expect(changes(body({ stage: 'production' }))).toEqual(['stage']);
    expect(changes(body({ positive_class: '0' }))).toEqual(['positive_class']);
    expect(changes(body({ classes: ['1', '0'] }))).toEqual(['classes']);
    expect(changes(body({ task: 'multiclass_classification' }))).toEqual(['task']);
    expect(
      changes(body({ stage: 'archived', training_data: { uri: 'test://y', sha256: '1'.repeat(64) } })),
    ).toEqual(['stage', 'training_data.uri', 'training_data.sha256']);
  });

  it('shows the registered and given values of a scalar', () => {
    const [stage] = changedFields(
      stored(body()),
      body({ stage: 'production' }),
      registrationMetadata(body(), bytes),
    );
    expect(stage?.detail).toBe("stage ('shadow' registered, 'production' given)");
  });
});
