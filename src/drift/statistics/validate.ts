/** Input checks shared by the statistics; they are O(n) and cheap next to the statistics themselves. */

export function assertSortedFinite(values: Float64Array, name: string): void {
  let prev = -Infinity;
  // An indexed loop: iterating a Float64Array with for…of measured 5-10x slower on 1M values.
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`${name} must hold finite numbers only, got ${v}`);
    if (v < prev) throw new RangeError(`${name} must be sorted ascending`);
    prev = v;
  }
}

export function assertNonEmpty(values: ArrayLike<number>, name: string): void {
  if (values.length === 0) throw new RangeError(`${name} must not be empty`);
}

/** Counts must be non-negative finite numbers; returns their sum. */
export function sumCounts(counts: readonly number[], name: string): number {
  let total = 0;
  for (const c of counts) {
    if (!Number.isFinite(c) || c < 0)
      throw new RangeError(`${name} must be non-negative finite counts, got ${c}`);
    total += c;
  }
  return total;
}
