import { describe, expect, it } from 'vitest';
import { inference } from '../../src/inference/index.js';
import { models } from '../../src/models/index.js';
import { labelledClassifierOnnx } from '../support/onnx-labelled.js';
import { send } from '../support/registry.js';
import { startTestService } from '../support/service.js';

/** Regression tests for review s21 findings 3 and 5: classes other than '0'/'1'. */

const body = (artifact: Buffer, overrides: Record<string, unknown>) => ({
  version: '1',
  stage: 'shadow',
  task: 'binary_classification',
  features: [
    { name: 'a', type: 'number' },
    { name: 'b', type: 'number' },
  ],
  artifact: { format: 'onnx', base64: artifact.toString('base64') },
  training_data: { uri: 's3://x', sha256: 'a'.repeat(64) },
  ...overrides,
});

describe('registering classifiers whose classes are not 0/1', () => {
  it("registers string classes 'false'/'true' and scores their labels", async () => {
    const service = await startTestService();
    const artifact = labelledClassifierOnnx({ labels: ['false', 'true'] });
    const created = await send(
      service,
      'POST',
      '/api/v1/models/bools/versions',
      body(artifact, { classes: ['false', 'true'], positive_class: 'true' }),
    );
    expect([created.status, created.body['positive_class']], JSON.stringify(created.body)).toEqual([
      201,
      '1',
    ]);
    // An exact repeat stays idempotent; positive_class '1' names the same class.
    const again = body(artifact, { classes: ['false', 'true'], positive_class: '1' });
    expect((await send(service, 'POST', '/api/v1/models/bools/versions', again)).status).toBe(201);
    // The scorer loads the stored metadata, whose labels are the graph's own.
    const [stored] = await service.use(models).registry.list('bools');
    const core = service.use(inference).core;
    const model = await core.load('bools-test', {
      bytes: artifact,
      metadata: JSON.parse(stored?.feature_schema ?? '{}') as Record<string, unknown>,
    });
    const scored = await model.score([
      { a: 1, b: 0 },
      { a: 0, b: 1 },
    ]);
    expect([scored.labels, scored.failures]).toEqual([['false', 'true'], []]);
    await core.unload('bools-test');
  });

  it('scores int64 class ids beyond int32 as their own classes', async () => {
    const service = await startTestService();
    const artifact = labelledClassifierOnnx({ offset: 3_000_000_000n });
    const created = await send(
      service,
      'POST',
      '/api/v1/models/ids/versions',
      body(artifact, { classes: ['3000000000', '3000000001'], positive_class: '3000000001' }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const core = service.use(inference).core;
    const [stored] = await service.use(models).registry.list('ids');
    const model = await core.load('ids-test', {
      bytes: artifact,
      metadata: JSON.parse(stored?.feature_schema ?? '{}') as Record<string, unknown>,
    });
    const scored = await model.score([
      { a: 1, b: 0 },
      { a: 0, b: 1 },
    ]);
    expect([scored.labels, scored.failures]).toEqual([['3000000000', '3000000001'], []]);
    await core.unload('ids-test');
  });
});
