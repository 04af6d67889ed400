/**
 * Deterministic samples for the drift tests. Only exact double arithmetic is used (no Math.log/cos,
 * whose last bit may differ between platforms), so the Python script that produced the SciPy
 * reference values generates bit-identical data:
 *
 *   def park_miller(seed):
 *       s = seed
 *       while True:
 *           s = (s * 48271) % 2147483647
 *           yield s / 2147483647
 *   def sample(n, seed, loc=0.0, scale=1.0, step=None):
 *       g = park_miller(seed); out = []
 *       for _ in range(n):
 *           z = 0.0
 *           for _ in range(12): z += next(g)
 *           x = loc + scale * (z - 6.0)
 *           if step is not None: x = math.floor(x / step) * step
 *           out.append(x)
 *       return out
 */

/** Park–Miller minimal standard generator; s·48271 < 2^53, so every step is exact. */
function* parkMiller(seed: number): Generator<number, never> {
  let s = seed;
  for (;;) {
    s = (s * 48271) % 2147483647;
    yield s / 2147483647;
  }
}

/** Approximately normal (Irwin–Hall, 12 uniforms), optionally floored to a grid of `step` to make ties. */
export function sample(n: number, seed: number, loc = 0, scale = 1, step?: number): Float64Array {
  const g = parkMiller(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let k = 0; k < 12; k++) z += g.next().value;
    const x = loc + scale * (z - 6);
    out[i] = step === undefined ? x : Math.floor(x / step) * step;
  }
  return out;
}

export function sorted(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

/** |actual − expected| / |expected|, or |actual| when expected is 0; NaN (a null result) fails any bound. */
export function relErr(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}
