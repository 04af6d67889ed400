/** A step of the merge walks over two sorted samples (KS, W1). */

/**
 * `a <= b ? a : b`, the very same value, without a branch: V8 compiles that conditional to a
 * jump, which on merged continuous samples goes either way at random (a misprediction every
 * other step); an index into a two-element array is a load instead.
 */
export function mergedNext(pair: Float64Array, a: number, b: number): number {
  pair[0] = b;
  pair[1] = a;
  return pair[+(a <= b)]!;
}
