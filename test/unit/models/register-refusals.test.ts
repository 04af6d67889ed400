import { afterAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../../../src/inference/index.js';
import { registerVersion, type RegistrationBody } from '../../../src/models/register.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';
import { refusingRegistrationDeps } from '../../support/registry.js';

/** Regression tests for review s21 #7: a refusal names the part of the request at fault. */

const core = new InferenceCore();
afterAll(() => core.close());

// Never reached: every case is refused before the registry is read.
const deps = refusingRegistrationDeps(core);

const body = (artifact: Buffer): RegistrationBody => ({
  version: '2',
  stage: 'shadow',
  task: 'binary_classification',
  positive_class: '1',
  classes: ['0', '1'],
  features: [{ name: 'x', type: 'number' }],
  artifact: { format: 'onnx', base64: artifact.toString('base64') },
  training_data: { uri: 'test://x', sha256: '0'.repeat(64) },
});

const refusal = (artifact: Buffer) =>
  registerVersion(deps, 'm', body(artifact)).then(
    () => 'registered',
    (err: Error) => err.message,
  );

describe('registration refusals', () => {
  it('names corrupt bytes first, even when their metadata_props entry survived and is bad', async () => {
    const bytes = linearClassifierOnnx({ weights: [1], bias: 0, metadataProps: { modelwatch: 'null' } });
    // Break the graph inside its framing: an operator ORT does not know.
    const at = bytes.indexOf('Sigmoid');
    expect(at).toBeGreaterThan(0);
    bytes.write('Sigmoix', at);
    expect(await refusal(bytes)).toMatch(/^body\/artifact: ONNX artifact could not be loaded/);
  });

  it("names malformed embedded input and outputs as the artifact's, not the body's", async () => {
    const artifact = (modelwatch: string) =>
      linearClassifierOnnx({ weights: [1], bias: 0, metadataProps: { modelwatch } });
    expect(await refusal(artifact('{"input":5}'))).toBe(
      'body/artifact: metadata_props["modelwatch"].input: expected the graph input\'s name',
    );
    expect(await refusal(artifact('{"outputs":{"label":7}}'))).toBe(
      'body/artifact: metadata_props["modelwatch"].outputs: expected an object of output names',
    );
    expect(await refusal(artifact('{"classes":"0,1"}'))).toBe(
      'body/artifact: metadata_props["modelwatch"].classes: expected an array of class names',
    );
  });
});
