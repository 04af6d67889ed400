/**
 * A classifier over 2 float features with labels other than 0/1, as ONNX bytes written here:
 * `probabilities` `[N, 2]` = softmax(input), `label` `[N]` = the argmax's class, either a string
 * from `labels` (Gather) or the int64 argmax plus `offset` (class ids beyond int32).
 */

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
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
const STRING = 8;

function valueInfo(field: number, name: string, type: number, shape: (number | 'N')[]): Buffer {
  const dims = shape.map((d) => message(1, d === 'N' ? bytes(2, 'N') : int(1, d)));
  return message(field, bytes(1, name), message(2, message(1, int(1, type), message(2, ...dims))));
}

function node(op: string, inputs: string[], output: string, attributes: Record<string, number> = {}): Buffer {
  const attrs = Object.entries(attributes).map(([name, i]) =>
    message(5, bytes(1, name), int(3, i), int(20, 2)),
  );
  return message(1, ...inputs.map((i) => bytes(1, i)), bytes(2, output), bytes(4, op), ...attrs);
}

export type LabelledClassifier = { labels: readonly [string, string] } | { offset: bigint };

export function labelledClassifierOnnx(spec: LabelledClassifier): Buffer {
  const strings = 'labels' in spec;
  const label = strings
    ? [
        node('Gather', ['names', 'idx'], 'label', { axis: 0 }),
        message(5, int(1, 2), int(2, STRING), ...spec.labels.map((l) => bytes(6, l)), bytes(8, 'names')),
      ]
    : [
        node('Add', ['idx', 'offset'], 'label'),
        message(
          5,
          int(1, 1),
          int(2, INT64),
          bytes(8, 'offset'),
          bytes(9, Buffer.from(BigInt64Array.of(spec.offset).buffer)),
        ),
      ];
  const graph = Buffer.concat([
    node('Softmax', ['input'], 'probabilities', { axis: 1 }),
    node('ArgMax', ['probabilities'], 'idx', { axis: 1, keepdims: 0 }),
    ...label,
    bytes(2, 'labelled'),
    valueInfo(11, 'input', FLOAT, ['N', 2]),
    valueInfo(12, 'label', strings ? STRING : INT64, ['N']),
    valueInfo(12, 'probabilities', FLOAT, ['N', 2]),
  ]);
  return Buffer.concat([
    int(1, 8),
    bytes(2, 'modelwatch-test'),
    bytes(7, graph),
    message(8, bytes(1, ''), int(2, 13)),
  ]);
}
