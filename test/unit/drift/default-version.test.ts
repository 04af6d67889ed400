import { describe, expect, it } from 'vitest';
import type { ModelVersionRecord } from '../../../src/models/index.js';
import { defaultVersion } from '../../../src/drift/service/drift-service.js';

function version(
  model_version: string,
  stage: ModelVersionRecord['stage'],
  first_seen: string,
): ModelVersionRecord {
  return {
    model_id: 'm',
    model_version,
    task: 'binary_classification',
    task_source: 'declared',
    positive_class: '1',
    stage,
    first_seen,
    artifact_sha256: '',
    training_data_uri: '',
    training_data_sha256: '',
    feature_schema: '',
  };
}

describe('the drift routes default version', () => {
  it('is the latest production version, not a newer challenger in shadow', () => {
    const versions = [
      version('1', 'production', '2026-01-01T00:00:00.000000Z'),
      version('3', 'archived', '2026-01-03T00:00:00.000000Z'),
      version('2', 'shadow', '2026-01-04T00:00:00.000000Z'),
      version('4', 'production', '2026-01-02T00:00:00.000000Z'),
    ];
    expect(defaultVersion(versions)).toBe('4');
  });

  it('is the latest version of any stage when none is in production', () => {
    const versions = [
      version('a', 'shadow', '2026-01-01T00:00:00.000000Z'),
      version('b', 'archived', '2026-01-02T00:00:00.000000Z'),
    ];
    expect(defaultVersion(versions)).toBe('b');
  });
});
