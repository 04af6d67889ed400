import { describe, expect, it } from 'vitest';
import { registrationMetadata, type RegistrationBody } from '../../../src/models/register.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';

/** The artifact's own `metadata_props["modelwatch"]` is read only when it is a JSON object. */

const body = (): RegistrationBody => ({
  version: '2',
  stage: 'shadow',
  task: 'binary_classification',
  positive_class: '1',
  features: [{ name: 'x', type: 'number' }],
  artifact: { format: 'onnx', base64: '' },
  training_data: { uri: 'test://x', sha256: '0'.repeat(64) },
});

const artifact = (modelwatch: string) =>
  linearClassifierOnnx({ weights: [1], bias: 0, metadataProps: { modelwatch } });

describe('registrationMetadata', () => {
  it('refuses embedded metadata that is not a JSON object with a 400 naming it', () => {
    for (const [text, what] of [
      ['null', 'is null, expected a JSON object'],
      ['[1]', 'is an array, expected a JSON object'],
      ['"x"', 'is string, expected a JSON object'],
      ['7', 'is number, expected a JSON object'],
      ['{"classes":', 'is not valid JSON'],
    ]) {
      expect(() => registrationMetadata(body(), artifact(text as string))).toThrow(
        expect.objectContaining({
          code: 'BAD_REQUEST',
          message: `body/artifact: metadata_props["modelwatch"] ${what}`,
        }),
      );
    }
  });

  it('takes the classes of embedded metadata that is an object', () => {
    expect(registrationMetadata(body(), artifact('{"classes":["0","1"]}')).classes).toEqual(['0', '1']);
  });
});
