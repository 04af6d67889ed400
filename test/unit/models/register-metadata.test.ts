import { describe, expect, it } from 'vitest';
import { parseMetadata } from '../../../src/inference/index.js';
import { changedFields, registrationMetadata, type RegistrationBody } from '../../../src/models/register.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';

/** The artifact's own `metadata_props["modelwatch"]` is read only when it is a JSON object. */

const body = (overrides: Partial<RegistrationBody> = {}): RegistrationBody => ({
  version: '2',
  stage: 'shadow',
  task: 'binary_classification',
  positive_class: '1',
  features: [{ name: 'x', type: 'number' }],
  artifact: { format: 'onnx', base64: '' },
  training_data: { uri: 'test://x', sha256: '0'.repeat(64) },
  ...overrides,
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

  it("keeps string classes 'false'/'true' as the graph names them (review s21 #5)", () => {
    const bytes = artifact('{}');
    const strings = body({ classes: ['false', 'true'], positive_class: 'true' });
    const metadata = registrationMetadata(strings, bytes);
    expect(metadata.positive_class).toBe('true');
    expect(parseMetadata(metadata, 'given').positiveClass).toBe('true');
    // '1' names the same class, in the form the registry stores it.
    expect(
      registrationMetadata(body({ classes: ['false', 'true'], positive_class: '1' }), bytes).positive_class,
    ).toBe('true');
    // Numeric classes still take 'true' as '1'.
    expect(
      registrationMetadata(body({ classes: ['0', '1'], positive_class: 'true' }), bytes).positive_class,
    ).toBe('1');
  });

  it('names the positive class as given when it is no class at all', () => {
    const metadata = registrationMetadata(
      body({ classes: ['a', 'b'], positive_class: 'true' }),
      artifact('{}'),
    );
    expect(() => parseMetadata(metadata, 'given')).toThrow("'true' is not one of classes");
  });

  it("finds an exact repeat of a 'false'/'true' registration unchanged (its positive class stored as '1')", () => {
    const strings = body({ classes: ['false', 'true'], positive_class: 'true' });
    const metadata = registrationMetadata(strings, artifact('{}'));
    const stored = {
      model_id: 'm',
      model_version: '2',
      task: 'binary_classification' as const,
      task_source: 'declared' as const,
      positive_class: '1',
      stage: 'shadow' as const,
      first_seen: '2026-01-01T00:00:00.000Z',
      artifact_sha256: 'f'.repeat(64),
      training_data_uri: 'test://x',
      training_data_sha256: '0'.repeat(64),
      feature_schema: JSON.stringify(metadata),
    };
    expect(changedFields(stored, strings, metadata)).toEqual([]);
  });
});
