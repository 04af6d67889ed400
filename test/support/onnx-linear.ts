/**
 * A binary linear classifier as ONNX bytes, written here (no Python): one float input `input`
 * `[N, F]`, `probabilities` `[N, 2]` = [1 − p, p] with p = sigmoid(x · weights + bias), and
 * `label` `[N]` int64 = the argmax (0 or 1), the shapes skl2onnx gives. Lets a test make a model
 * of any width, e.g. wider than any committed one.
 */

import { bytes, FLOAT, int, INT64, message, node, valueInfo } from './onnx-wire.js';

/** TensorProto (as GraphProto.initializer, field 5): float data, little-endian raw bytes. */
function initializer(name: string, dims: number[], values: number[]): Buffer {
  const raw = Buffer.from(Float32Array.from(values).buffer);
  return message(5, ...dims.map((d) => int(1, d)), int(2, FLOAT), bytes(8, name), bytes(9, raw));
}

export interface LinearClassifier {
  weights: readonly number[];
  bias: number;
  /** Stored as `metadata_props` entries (e.g. `modelwatch`). */
  metadataProps?: Record<string, string>;
}

export function linearClassifierOnnx({ weights, bias, metadataProps = {} }: LinearClassifier): Buffer {
  const f = weights.length;
  const graph = Buffer.concat([
    node('MatMul', ['input', 'W'], 'z'),
    node('Add', ['z', 'B'], 'zb'),
    node('Sigmoid', ['zb'], 'p1'),
    node('Sub', ['one', 'p1'], 'p0'),
    node('Concat', ['p0', 'p1'], 'probabilities', { axis: 1 }),
    node('ArgMax', ['probabilities'], 'label', { axis: 1, keepdims: 0 }),
    bytes(2, 'linear'),
    initializer('W', [f, 1], [...weights]),
    initializer('B', [1], [bias]),
    initializer('one', [1], [1]),
    valueInfo(11, 'input', FLOAT, ['N', f]),
    valueInfo(12, 'label', INT64, ['N']),
    valueInfo(12, 'probabilities', FLOAT, ['N', 2]),
  ]);
  return Buffer.concat([
    int(1, 8), // ir_version
    bytes(2, 'modelwatch-test'),
    bytes(7, graph),
    message(8, bytes(1, ''), int(2, 13)), // opset_import: the default domain, opset 13
    ...Object.entries(metadataProps).map(([key, value]) => message(14, bytes(1, key), bytes(2, value))),
  ]);
}
