/** Protobuf wire format, only what the ONNX messages the test models are written with need. */

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  // Negative int64 values are written as their two's complement (ten bytes).
  if (v < 0n) v += 1n << 64n;
  const out: number[] = [];
  do {
    out.push(Number(v & 0x7fn) | (v > 0x7fn ? 0x80 : 0));
    v >>= 7n;
  } while (v > 0n);
  return Buffer.from(out);
}

export const int = (field: number, n: number) => Buffer.concat([varint(field << 3), varint(n)]);

export function bytes(field: number, value: Buffer | string): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
}

export const message = (field: number, ...parts: Buffer[]) => bytes(field, Buffer.concat(parts));

/** TensorProto.DataType */
export const FLOAT = 1;
export const INT64 = 7;
export const STRING = 8;

/** ValueInfoProto (GraphProto.input 11 / output 12) of a tensor; 'N' is a symbolic dimension. */
export function valueInfo(field: number, name: string, type: number, shape: (number | 'N')[]): Buffer {
  const dims = shape.map((d) => message(1, d === 'N' ? bytes(2, 'N') : int(1, d)));
  return message(field, bytes(1, name), message(2, message(1, int(1, type), message(2, ...dims))));
}

/** NodeProto (GraphProto.node, field 1) with integer attributes. */
export function node(
  op: string,
  inputs: string[],
  output: string,
  attributes: Record<string, number> = {},
): Buffer {
  const attrs = Object.entries(attributes).map(([name, i]) =>
    message(5, bytes(1, name), int(3, i), int(20, 2)),
  );
  return message(1, ...inputs.map((i) => bytes(1, i)), bytes(2, output), bytes(4, op), ...attrs);
}
