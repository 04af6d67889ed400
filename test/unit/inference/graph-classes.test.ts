import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isInferenceError, readGraphClasses } from '../../../src/inference/index.js';
import { linearClassifierOnnx } from '../../support/onnx-linear.js';
import { bytes, int, message, varint } from '../../support/onnx-wire.js';

/** Class labels read off the graph's ai.onnx.ml classifier node (review 26 #4). */

const fixture = (relative: string) =>
  new Uint8Array(readFileSync(new URL(`../../../${relative}`, import.meta.url)));

/** AttributeProto with int64 values, one varint field each (as ONNX writes them) or packed. */
function intsAttribute(name: string, values: bigint[], packed = false): Buffer {
  const ints = packed
    ? [bytes(8, Buffer.concat(values.map((v) => varint(v))))]
    : values.map((v) => Buffer.concat([varint(8 << 3), varint(v)]));
  return message(5, bytes(1, name), ...ints, int(20, 7));
}

const stringsAttribute = (name: string, values: (string | Buffer)[]) =>
  message(5, bytes(1, name), ...values.map((v) => bytes(9, v)), int(20, 8));

/** NodeProto with its domain written last (field 7, after the attributes), as protobuf orders it. */
const mlNode = (op: string, attributes: Buffer[], domain = 'ai.onnx.ml') =>
  message(1, bytes(1, 'input'), bytes(2, `${op}_out`), bytes(4, op), ...attributes, bytes(7, domain));

/** ModelProto around the nodes, with a metadata_props entry after the graph like train.py's. */
const model = (...nodes: Buffer[]) =>
  Buffer.concat([
    int(1, 8),
    message(7, ...nodes, bytes(2, 'g')),
    message(8, bytes(1, 'ai.onnx.ml'), int(2, 3)),
    message(14, bytes(1, 'k'), bytes(2, 'v')),
  ]);

/** What the reader answers, or the code of the error it throws; anything else fails the test. */
function outcome(data: Uint8Array): string[] | undefined | string {
  try {
    return readGraphClasses(data);
  } catch (err) {
    if (isInferenceError(err)) return err.code;
    throw err;
  }
}

describe('readGraphClasses', () => {
  it("reads integer classes from the committed skl2onnx exports' classifier nodes", () => {
    // LinearClassifier classlabels_ints; TreeEnsembleClassifier classlabels_int64s.
    expect(readGraphClasses(fixture('data/models/california-logistic.onnx'))).toEqual(['0', '1']);
    expect(readGraphClasses(fixture('data/models/california-forest.onnx'))).toEqual(['0', '1']);
    // A negative class and one beyond int32, as their decimal text.
    expect(readGraphClasses(fixture('test/fixtures/skl2onnx-stock/logistic-int64.onnx'))).toEqual([
      '-3',
      '7',
      '5000000000',
    ]);
  });

  it('reads string classes (LinearClassifier, TreeEnsembleClassifier classlabels_strings)', () => {
    expect(readGraphClasses(fixture('test/fixtures/inference/california-income-tertile.onnx'))).toEqual([
      'high',
      'low',
      'mid',
    ]);
    expect(readGraphClasses(fixture('test/fixtures/skl2onnx-stock/tree-strings.onnx'))).toEqual([
      'cat',
      'dog',
    ]);
  });

  it('reads int64 labels exactly, one varint per field or packed', () => {
    const labels = [-9223372036854775808n, -1n, 0n, 9007199254740993n, 9223372036854775807n];
    const text = labels.map(String);
    for (const packed of [false, true])
      expect(
        readGraphClasses(model(mlNode('SVMClassifier', [intsAttribute('classlabels_ints', labels, packed)]))),
      ).toEqual(text);
  });

  it('takes the classes of a classifier and the ZipMap after it when they agree, none when they differ', () => {
    const classifier = mlNode('LinearClassifier', [
      intsAttribute('coefficients', [1n, 2n]),
      intsAttribute('classlabels_ints', [0n, 1n]),
    ]);
    const zipMap = (labels: bigint[]) => mlNode('ZipMap', [intsAttribute('classlabels_int64s', labels)]);
    expect(readGraphClasses(model(classifier, zipMap([0n, 1n])))).toEqual(['0', '1']);
    expect(readGraphClasses(model(classifier, zipMap([1n, 0n])))).toBeUndefined();
  });

  it('finds none in a graph without an ai.onnx.ml classifier node', () => {
    // MatMul, Sigmoid, ArgMax… in the default domain: classes are nowhere in the graph.
    expect(readGraphClasses(linearClassifierOnnx({ weights: [1, 2], bias: 0 }))).toBeUndefined();
    // A regressor (LinearRegressor after a Scaler).
    expect(readGraphClasses(fixture('data/models/california-income-regression.onnx'))).toBeUndefined();
    // The operator's name in another domain is not the ONNX-ML classifier.
    const labels = intsAttribute('classlabels_ints', [0n, 1n]);
    expect(readGraphClasses(model(mlNode('LinearClassifier', [labels], '')))).toBeUndefined();
    expect(readGraphClasses(model(mlNode('LinearClassifier', [labels], 'com.example')))).toBeUndefined();
    // A classifier that lists no classes, or both kinds (ONNX allows one).
    expect(readGraphClasses(model(mlNode('LinearClassifier', [])))).toBeUndefined();
    const both = [labels, stringsAttribute('classlabels_strings', ['a', 'b'])];
    expect(readGraphClasses(model(mlNode('LinearClassifier', both)))).toBeUndefined();
    expect(readGraphClasses(new Uint8Array(0))).toBeUndefined();
  });

  it('keeps at most 1,001 classes (metadata then refuses over 1,000) however many the node lists', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `c${i}`);
    const classes = readGraphClasses(
      model(mlNode('TreeEnsembleClassifier', [stringsAttribute('classlabels_strings', many)])),
    );
    expect(classes).toEqual(many.slice(0, 1001));
  });
});

describe('readGraphClasses on corrupt bytes: ARTIFACT_INVALID or nothing, never a crash', () => {
  const logistic = fixture('data/models/california-logistic.onnx');

  it('every truncation of the logistic model', () => {
    const seen = new Set<string>();
    for (let cut = 0; cut < logistic.length; cut++) {
      const result = outcome(logistic.subarray(0, cut));
      seen.add(JSON.stringify(result ?? null));
      expect([undefined, 'ARTIFACT_INVALID', ['0', '1']], `cut at ${cut}`).toContainEqual(result);
    }
    // A cut inside the graph is refused; one that leaves the whole graph still reads its classes.
    expect(seen).toEqual(new Set(['null', '"ARTIFACT_INVALID"', '["0","1"]']));
  });

  it('every byte of the logistic model flipped', () => {
    for (let at = 0; at < logistic.length; at++) {
      const copy = logistic.slice();
      copy[at] = (copy[at] as number) ^ 0xff;
      const result = outcome(copy);
      if (typeof result === 'string') expect(result, `byte ${at}`).toBe('ARTIFACT_INVALID');
      else if (result !== undefined) expect(result.length, `byte ${at}`).toBeLessThanOrEqual(1001);
    }
  });

  it('names what is wrong: truncated, an over-long varint, a class label that is not UTF-8', () => {
    const refusal = (data: Uint8Array) => {
      try {
        readGraphClasses(data);
        return 'read';
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    };
    expect(refusal(logistic.subarray(0, 40))).toBe('ONNX artifact: protobuf truncated');
    // classlabels_ints whose one value is an 11-byte varint.
    const overLong = Buffer.concat([varint(8 << 3), Buffer.alloc(10, 0xff), Buffer.from([1])]);
    const badInts = message(5, bytes(1, 'classlabels_ints'), overLong);
    expect(refusal(model(mlNode('LinearClassifier', [badInts])))).toBe(
      'ONNX artifact: malformed protobuf (a varint longer than 10 bytes)',
    );
    const notText = stringsAttribute('classlabels_strings', [Buffer.from([0xc3, 0x28])]);
    expect(refusal(model(mlNode('LinearClassifier', [notText])))).toBe(
      'ONNX artifact: a class label holds text that is not UTF-8',
    );
  });
});
