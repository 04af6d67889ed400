/**
 * A binary linear classifier as ONNX bytes, written here (no Python): one float input `input`
 * `[N, F]`, `probabilities` `[N, 2]` = [1 − p, p] with p = sigmoid(x · weights + bias), and
 * `label` `[N]` int64 = the argmax (0 or 1), the shapes skl2onnx gives. Lets a test make a model
 * of any width, e.g. wider than any committed one.
 */

/** Protobuf wire format, only what the ONNX messages below need. */
function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
    v >>= 7n;
  } while (v > 0n);
  return Buffer.from(out);
}

const int = (field: number, n: number) => Buffer.concat([varint(field << 3), varint(n)]);

function bytes(field: number, value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
}

const message = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));

const FLOAT = 1;
const INT64 = 7;

/** TensorProto (as GraphProto.initializer, field 5): float data, little-endian raw bytes. */
function initializer(name: string, dims: number[], values: number[]): Buffer {
  const raw = Buffer.from(Float32Array.from(values).buffer);
  return message(5, ...dims.map((d) => int(1, d)), int(2, FLOAT), bytes(8, name), bytes(9, raw));
}

/** ValueInfoProto (graph input 11 or output 12): a tensor with `N` for a dynamic dimension. */
function valueInfo(field: number, name: string, type: number, shape: (number | 'N')[]): Buffer {
  const dims = shape.map((d) => message(1, d === 'N' ? bytes(2, 'N') : int(1, d)));
  return message(field, bytes(1, name), message(2, message(1, int(1, type), message(2, ...dims))));
}

/** NodeProto (GraphProto.node, field 1) with integer attributes. */
function node(op: string, inputs: string[], output: string, attributes: Record<string, number> = {}): Buffer {
  const attrs = Object.entries(attributes).map(([name, i]) =>
    message(5, bytes(1, name), int(3, i), int(20, 2)),
  );
  return message(1, ...inputs.map((i) => bytes(1, i)), bytes(2, output), bytes(4, op), ...attrs);
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
