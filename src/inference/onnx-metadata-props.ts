/**
 * Reads `ModelProto.metadata_props` (field 14, `StringStringEntryProto { key = 1; value = 2 }`)
 * straight from the ONNX protobuf bytes: onnxruntime-node does not expose a model's custom
 * metadata. Only the top level of the message is walked; the graph is skipped by its length.
 */
import { InferenceError } from './errors.js';

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

class Reader {
  offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.offset = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw truncated();
      const byte = this.bytes[this.offset++] ?? 0;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw malformed('a varint longer than 10 bytes');
  }

  /** Returns the [start, end) of a length-delimited field and moves past it. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.offset;
    if (!Number.isSafeInteger(length) || length > this.end - start) throw truncated();
    this.offset = start + length;
    return [start, start + length];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH:
        this.span();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw malformed(`wire type ${wire}`);
    }
  }

  private advance(n: number): void {
    if (this.end - this.offset < n) throw truncated();
    this.offset += n;
  }
}

const truncated = () => new InferenceError('ARTIFACT_INVALID', 'ONNX artifact: protobuf truncated');
const malformed = (what: string) =>
  new InferenceError('ARTIFACT_INVALID', `ONNX artifact: malformed protobuf (${what})`);

const decoder = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array, [start, end]: [number, number]): string {
  try {
    return decoder.decode(bytes.subarray(start, end));
  } catch (cause) {
    throw new InferenceError(
      'ARTIFACT_INVALID',
      'ONNX artifact: metadata_props holds text that is not UTF-8',
      { cause },
    );
  }
}

function readEntry(bytes: Uint8Array, span: [number, number]): [string, string] {
  const reader = new Reader(bytes, span[0], span[1]);
  let key = '';
  let value = '';
  while (reader.offset < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE_LENGTH && field === ENTRY_KEY) key = text(bytes, reader.span());
    else if (wire === WIRE_LENGTH && field === ENTRY_VALUE) value = text(bytes, reader.span());
    else reader.skip(wire);
  }
  return [key, value];
}

/** The model's `metadata_props` as a map; the last entry wins when a key repeats (protobuf map rule). */
export function readMetadataProps(bytes: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const reader = new Reader(bytes, 0, bytes.length);
  while (reader.offset < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw malformed('field number 0');
    if (wire === WIRE_LENGTH && field === METADATA_PROPS) {
      const [key, value] = readEntry(bytes, reader.span());
      props.set(key, value);
    } else {
      reader.skip(wire);
    }
  }
  return props;
}
