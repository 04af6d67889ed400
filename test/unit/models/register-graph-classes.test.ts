import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceCore, loadModel } from '../../../src/inference/index.js';
import {
  registerVersion,
  registrationMetadata,
  type RegistrationBody,
} from '../../../src/models/register.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';
import { refusingRegistrationDeps } from '../../support/registry.js';
import { bytes, message } from '../../support/onnx-wire.js';

/**
 * Review 26 #4: a SPEC 7 body (no `classes`) with a plain skl2onnx export takes its classes from
 * the graph's classifier node, after the body's and the artifact's embedded metadata's.
 */

const stock = (name: string) =>
  readFileSync(new URL(`../../fixtures/skl2onnx-stock/${name}.onnx`, import.meta.url));

/** As SPEC 7 shows it: no `classes`. */
const body = (artifact: Buffer, overrides: Partial<RegistrationBody> = {}): RegistrationBody => ({
  version: '2',
  stage: 'shadow',
  task: 'binary_classification',
  positive_class: '1',
  features: ['a', 'b', 'c'].map((name) => ({ name, type: 'number' as const })),
  artifact: { format: 'onnx', base64: artifact.toString('base64') },
  training_data: { uri: 'test://x', sha256: '0'.repeat(64) },
  ...overrides,
});

/** The artifact with a `metadata_props["modelwatch"]` entry appended (a top-level field may come last). */
const withEmbedded = (artifact: Buffer, modelwatch: string) =>
  Buffer.concat([artifact, message(14, bytes(1, 'modelwatch'), bytes(2, modelwatch))]);

const REQUIRED = 'body/classes: required for this artifact';

describe('registrationMetadata: classes from the graph', () => {
  it("takes a plain skl2onnx export's classes from its classifier node", () => {
    const logistic = stock('logistic-binary');
    expect(registrationMetadata(body(logistic), logistic)).toMatchObject({
      classes: ['0', '1'],
      positive_class: '1',
    });
    const tree = stock('tree-strings');
    expect(registrationMetadata(body(tree, { positive_class: 'dog' }), tree).classes).toEqual(['cat', 'dog']);
    const int64 = stock('logistic-int64');
    const multiclass = body(int64, { task: 'multiclass_classification', positive_class: undefined });
    expect(registrationMetadata(multiclass, int64).classes).toEqual(['-3', '7', '5000000000']);
  });

  it("scores with the graph's classes: every label the stock models answer is one of them", async () => {
    const rows = [
      { a: 2, b: 0, c: 0 },
      { a: 0, b: 2, c: 0 },
      { a: 0, b: 0, c: 2 },
      { a: 0, b: 0, c: -2 },
    ];
    // The labels scikit-learn's predict gives these rows (make_fixtures.py's models).
    const cases: [string, Partial<RegistrationBody>, string[]][] = [
      [
        'logistic-int64',
        { task: 'multiclass_classification', positive_class: undefined },
        ['-3', '7', '5000000000', '7'],
      ],
      ['tree-strings', { positive_class: 'dog' }, ['dog', 'dog', 'dog', 'cat']],
    ];
    for (const [name, overrides, labels] of cases) {
      const artifact = stock(name);
      const metadata = registrationMetadata(body(artifact, overrides), artifact);
      const model = await loadModel({ bytes: artifact, metadata });
      const result = await model.score(rows);
      await model.close();
      expect([name, result.failures, result.labels]).toEqual([name, [], labels]);
    }
  });

  it("keeps the order of precedence: the body's classes, then the embedded metadata's, then the graph's", () => {
    const artifact = withEmbedded(stock('logistic-binary'), '{"classes":["no","yes"]}');
    expect(registrationMetadata(body(artifact, { positive_class: 'yes' }), artifact).classes).toEqual([
      'no',
      'yes',
    ]);
    const given = body(artifact, { classes: ['1', '0'] });
    expect(registrationMetadata(given, artifact).classes).toEqual(['1', '0']);
  });

  it('reads no classes for a regression model', () => {
    const logistic = stock('logistic-binary');
    const regression = body(logistic, { task: 'regression', positive_class: undefined });
    expect(registrationMetadata(regression, logistic).classes).toBeUndefined();
  });

  it('refuses a classifier whose graph has no classifier node, saying classes are required', () => {
    const plain = linearClassifierOnnx({ weights: [1, 2, 3], bias: 0 });
    expect(() => registrationMetadata(body(plain), plain)).toThrow(
      expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining(REQUIRED) as string }),
    );
  });
});

describe('registerVersion without classes', () => {
  const core = new InferenceCore();
  afterAll(() => core.close());
  // Never reached: every case is refused before the registry is read.
  const deps = refusingRegistrationDeps(core);
  const refusal = (artifact: Buffer) =>
    registerVersion(deps, 'm', body(artifact)).then(
      () => 'registered',
      (err: Error) => err.message,
    );

  it('answers the 400 naming classes as required when the graph lists none', async () => {
    const message = await refusal(linearClassifierOnnx({ weights: [1, 2, 3], bias: 0 }));
    expect(message).toMatch(
      /^body\/classes: required for this artifact: neither its metadata_props\["modelwatch"\] nor a classifier node of its graph \(ai\.onnx\.ml LinearClassifier, SVMClassifier, TreeEnsembleClassifier, ZipMap\) lists one set of classes/,
    );
  });

  it('names truncated bytes as the artifact, not as missing classes', async () => {
    const logistic = stock('logistic-binary');
    expect(await refusal(logistic.subarray(0, logistic.length - 30))).toMatch(/^body\/artifact: /);
  });
});
