/**
 * Reads `ModelProto.metadata_props` (field 14, `StringStringEntryProto { key = 1; value = 2 }`)
 * straight from the ONNX protobuf bytes: onnxruntime-node does not expose a model's custom
 * metadata. Only the top level of the message is walked; the graph is skipped by its length.
 * The protobuf reader here is shared with onnx-graph-classes.ts.
 */
import { InferenceError } from './errors.js';

const METADATA_PROPS = 14;
const ENTRY_KEY = 1;
const ENTRY_VALUE = 2;

export const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** A message's bytes: the whole artifact and the [start, end) of the message in it. */
export type Span = [number, number];

export class Reader {
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

  /** An int64 varint, exactly (a number loses ids past 2^53); negatives are ten bytes of two's complement. */
  varint64(): bigint {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.offset >= this.end) throw truncated();
      const byte = this.bytes[this.offset++] ?? 0;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, value);
    }
    throw malformed('a varint longer than 10 bytes');
  }

  /** Returns the [start, end) of a length-delimited field and moves past it. */
  span(): Span {
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

/** A string field's text; `where` names the message for the refusal of bytes that are not UTF-8. */
export function text(bytes: Uint8Array, [start, end]: Span, where = 'metadata_props'): string {
  try {
    return decoder.decode(bytes.subarray(start, end));
  } catch (cause) {
    throw new InferenceError('ARTIFACT_INVALID', `ONNX artifact: ${where} holds text that is not UTF-8`, {
      cause,
    });
  }
}

/**
 * Walks the fields of the message in `span`: `read` is given each field's number and wire type
 * with the reader at its value, and either reads the value and answers true, or answers false
 * and the value is skipped.
 */
export function eachField(
  bytes: Uint8Array,
  [start, end]: Span,
  read: (field: number, wire: number, reader: Reader) => boolean,
): void {
  const reader = new Reader(bytes, start, end);
  while (reader.offset < reader.end) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw malformed('field number 0');
    if (!read(field, wire, reader)) reader.skip(wire);
  }
}

function readEntry(bytes: Uint8Array, span: Span): [string, string] {
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
  eachField(bytes, [0, bytes.length], (field, wire, reader) => {
    if (field !== METADATA_PROPS || wire !== WIRE_LENGTH) return false;
    const [key, value] = readEntry(bytes, reader.span());
    props.set(key, value);
    return true;
  });
  return props;
}
