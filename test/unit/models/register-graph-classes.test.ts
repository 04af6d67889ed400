import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { InferenceCore, loadModel } from '../../../src/inference/index.js';
import {
  registerVersion,
  registrationMetadata,
  type RegistrationBody,
  type RegistrationDeps,
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
    // A graph that lists no classes: a declared list is the only one, in whichever order it says.
    const artifact = linearClassifierOnnx({
      weights: [1, 2, 3],
      bias: 0,
      metadataProps: { modelwatch: '{"classes":["no","yes"]}' },
    });
    expect(registrationMetadata(body(artifact, { positive_class: 'yes' }), artifact).classes).toEqual([
      'no',
      'yes',
    ]);
    const given = body(artifact, { classes: ['yes', 'no'], positive_class: 'yes' });
    expect(registrationMetadata(given, artifact).classes).toEqual(['yes', 'no']);
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

/**
 * Review 27 #1: declared classes other than the graph's own list. A score is read by the positive
 * class's position while labels are matched by name, so `["1", "0"]` on a graph whose columns are
 * [0, 1] scored P(0) as the positive class's, and `["no", "yes"]` on int64 labels 0/1 registered,
 * then failed every row as `label_not_in_classes`.
 */
describe('registerVersion with classes other than the graph lists', () => {
  const core = new InferenceCore();
  afterAll(() => core.close());

  /** Registration with `core`, nothing stored: the metadata the version row would hold is kept. */
  function recordingDeps(): { deps: RegistrationDeps; schemas: string[] } {
    const schemas: string[] = [];
    const registry = {
      exclusive: (_m: string, _v: string, work: () => Promise<unknown>) => work(),
      version: () => Promise.resolve(undefined),
      registerOnce: (r: { featureSchema: string }) => {
        schemas.push(r.featureSchema);
        return Promise.resolve({ won: true, stored: { feature_schema: r.featureSchema } });
      },
    };
    const artifacts = { put: () => Promise.resolve() };
    return { deps: { core, registry, artifacts } as unknown as RegistrationDeps, schemas };
  }

  const outcome = (artifact: Buffer, overrides: Partial<RegistrationBody>) =>
    registerVersion(recordingDeps().deps, 'm', body(artifact, overrides)).then(
      () => 'registered',
      (err: Error & { code?: string }) => `${err.code}: ${err.message}`,
    );

  it("refuses a body's or an embedded list that differs from the graph's, naming both", async () => {
    const logistic = stock('logistic-binary');
    const mismatch = (declared: string) =>
      `BAD_REQUEST: body/artifact: graph does not match the metadata: classes ${declared} are not the graph's: its classifier node lists ["0","1"], in probability-column order`;
    expect(await outcome(logistic, { classes: ['1', '0'] })).toBe(mismatch('["1","0"]'));
    const embedded = withEmbedded(logistic, '{"classes":["no","yes"]}');
    expect(await outcome(embedded, { positive_class: 'yes' })).toBe(mismatch('["no","yes"]'));
    const tree = stock('tree-strings');
    expect(await outcome(tree, { classes: ['dog', 'cat'], positive_class: 'dog' })).toMatch(
      /classes \["dog","cat"\] are not the graph's: its classifier node lists \["cat","dog"\]/,
    );
  });

  it("registers the graph's own list, or any list for a graph without one, and scores the positive class's column", async () => {
    const rows = [
      { a: 2, b: 0, c: 0 },
      { a: -2, b: 0, c: 0 },
      { a: 0, b: 2, c: 0 },
      { a: 0, b: -2, c: 0 },
    ];
    const labels = ['1', '0', '1', '0'];
    const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
    // Label 1 exactly when a + b > 0 (make_fixtures.py); the plain graph's p = sigmoid(a + 2b + 3c).
    const plainScores: unknown[] = [sigmoid(2), sigmoid(-2), sigmoid(4), sigmoid(-4)].map((p): unknown =>
      expect.closeTo(p, 6),
    );
    const cases: [string, Buffer, Partial<RegistrationBody>][] = [
      ['equal to the graph', stock('logistic-binary'), { classes: ['0', '1'] }],
      ["the graph's, not given", stock('logistic-binary'), {}],
      [
        'no list on the graph',
        linearClassifierOnnx({ weights: [1, 2, 3], bias: 0 }),
        { classes: ['0', '1'] },
      ],
    ];
    for (const [what, artifact, overrides] of cases) {
      const { deps, schemas } = recordingDeps();
      await registerVersion(deps, 'm', body(artifact, overrides));
      const model = await loadModel({ bytes: artifact, metadata: JSON.parse(schemas[0] ?? '{}') as unknown });
      const result = await model.score(rows);
      await model.close();
      expect([what, result.failures, result.labels]).toEqual([what, [], labels]);
      // The positive class's column: P(1), above one half exactly for the rows labelled '1'.
      const scores = Array.from(result.scores);
      expect([what, scores]).toEqual([what, rows.map((_, i) => result.probabilities[2 * i + 1])]);
      expect([what, scores.map((p) => p > 0.5)]).toEqual([what, labels.map((l) => l === '1')]);
      if (what === 'no list on the graph') expect(scores).toEqual(plainScores);
    }
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
