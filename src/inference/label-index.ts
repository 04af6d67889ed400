/**
 * The label tensor → each row's index in the declared classes (−1 for a label outside them),
 * in one tight loop per tensor type: at a million rows, a per-row closure or a BigInt → Number
 * conversion costs more than the graph itself.
 */
import { endianness } from 'node:os';
import type { Tensor } from 'onnxruntime-node';

/** Integer classes spanning at most this many values use a dense table. */
const DENSE_SPAN = 4096;

interface IntegerClasses {
  readonly min: number;
  /** index by value − min, −1 for none; null when the classes are too spread for a table. */
  readonly dense: Int32Array | null;
  readonly sparse: Map<number, number>;
}

function integerClasses(classes: readonly string[]): IntegerClasses {
  const sparse = new Map<number, number>();
  classes.forEach((c, i) => {
    // Only the canonical spelling: '01' is not the label 1.
    if (/^-?\d+$/.test(c) && Number.isSafeInteger(Number(c)) && String(Number(c)) === c)
      sparse.set(Number(c), i);
  });
  const keys = [...sparse.keys()];
  const min = keys.length === 0 ? 0 : Math.min(...keys);
  const span = keys.length === 0 ? 0 : Math.max(...keys) - min + 1;
  if (span > DENSE_SPAN) return { min, dense: null, sparse };
  const dense = new Int32Array(span).fill(-1);
  for (const [value, i] of sparse) dense[value - min] = i;
  return { min, dense, sparse };
}

function fromInt32(
  values: ArrayLike<number>,
  n: number,
  stride: number,
  hi: Int32Array | null,
  known: IntegerClasses,
): Int32Array {
  const out = new Int32Array(n);
  const { min, dense, sparse } = known;
  for (let i = 0; i < n; i++) {
    const v = values[i * stride] as number;
    // An int64 whose high word is not the sign of its low word is outside int32, so no class.
    if (hi !== null && (hi[i * 2 + 1] as number) !== v >> 31) out[i] = -1;
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
    const numbers = Array.from(data as BigInt64Array, (v) =>
      v >= -(2n ** 31n) && v < 2n ** 31n ? Number(v) : 2 ** 31,
    );
    return fromInt32(numbers, n, 1, null, known);
  };
}
