/**
 * The label tensor → each row's index in the declared classes (−1 for a label outside them),
 * in one tight loop per tensor type: at a million rows, a per-row closure or a BigInt → Number
 * conversion costs more than the graph itself.
 */
import { endianness } from 'node:os';
import type { OutputTensor as Tensor } from './worker-session.js';

/** Integer classes spanning at most this many values use a dense table. */
const DENSE_SPAN = 4096;

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

interface IntegerClasses {
  readonly min: number;
  /** index by value − min, −1 for none; null when the classes are too spread for a table. */
  readonly dense: Int32Array | null;
  /** The classes within int32 (the only ones an int32 value can be). */
  readonly sparse: Map<number, number>;
  /** The int64 classes outside int32 (ids, codes, beyond 2^53 too); null when there are none. */
  readonly wide: Map<bigint, number> | null;
}

function integerClasses(classes: readonly string[]): IntegerClasses {
  const sparse = new Map<number, number>();
  const wide = new Map<bigint, number>();
  classes.forEach((c, i) => {
    // Only the canonical spelling: '01' and '-0' are not the labels 1 and 0.
    if (!/^-?\d{1,20}$/.test(c) || BigInt(c).toString() !== c) return;
    const value = BigInt(c);
    if (value >= INT32_MIN && value <= INT32_MAX) sparse.set(Number(value), i);
    else wide.set(value, i);
  });
  const keys = [...sparse.keys()];
  const min = keys.length === 0 ? 0 : Math.min(...keys);
  const span = keys.length === 0 ? 0 : Math.max(...keys) - min + 1;
  const known = { min, sparse, wide: wide.size === 0 ? null : wide };
  if (span > DENSE_SPAN) return { ...known, dense: null };
  const dense = new Int32Array(span).fill(-1);
  for (const [value, i] of sparse) dense[value - min] = i;
  return { ...known, dense };
}

function fromInt32(
  values: ArrayLike<number>,
  n: number,
  stride: number,
  hi: Int32Array | null,
  known: IntegerClasses,
): Int32Array {
  const out = new Int32Array(n);
  const { min, dense, sparse, wide } = known;
  for (let i = 0; i < n; i++) {
    const v = values[i * stride] as number;
    const high = hi === null ? 0 : (hi[i * 2 + 1] as number);
    // An int64 whose high word is not the sign of its low word is outside int32: one of the wide
    // classes or none (the rare case pays for the BigInt).
    if (hi !== null && high !== v >> 31)
      out[i] = wide === null ? -1 : (wide.get((BigInt(high) << 32n) | BigInt(v >>> 0)) ?? -1);
    else if (dense !== null)
      out[i] = v - min >= 0 && v - min < dense.length ? (dense[v - min] as number) : -1;
    else out[i] = sparse.get(v) ?? -1;
  }
  return out;
}

function fromStrings(values: readonly string[], n: number, classes: readonly string[]): Int32Array {
  const index = new Map(classes.map((c, i) => [c, i]));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = index.get(values[i] as string) ?? -1;
  return out;
}

const littleEndian = endianness() === 'LE';

/** Builds, once per model, the decoder of its label tensor. */
export function labelIndexer(classes: readonly string[]): (label: Tensor, n: number) => Int32Array {
  const known = integerClasses(classes);
  return (label, n) => {
    const data = label.data;
    if (label.type === 'string') return fromStrings(data as string[], n, classes);
    if (label.type === 'int32') return fromInt32(data as Int32Array, n, 1, null, known);
    if (label.type === 'int64' && littleEndian) {
      const big = data as BigInt64Array;
      const words = new Int32Array(big.buffer, big.byteOffset, n * 2);
      return fromInt32(words, n, 2, words, known);
    }
    return fromBigInts(data as BigInt64Array, n, known);
  };
}

/** int64 labels on a big-endian host: value by value, without the word trick. */
function fromBigInts(values: BigInt64Array, n: number, known: IntegerClasses): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as bigint;
    out[i] =
      v >= INT32_MIN && v <= INT32_MAX ? (known.sparse.get(Number(v)) ?? -1) : (known.wide?.get(v) ?? -1);
  }
  return out;
}
