/**
 * NumPy's legacy `RandomState(seed)` (MT19937 seeded by `init_genrand`), only as far as
 * scikit-learn's `StratifiedShuffleSplit(random_state=42)` draws from it: `permutation` and
 * `choice(replace=False)`, both through the legacy shuffle (Fisher-Yates from the end, each index
 * by `random_interval`: the next 32-bit output masked to the smallest covering bit mask, redrawn
 * while above the bound). Same seed, same draws, so NannyML's calibration folds are reproduced.
 */
const N = 624;
const M = 397;

export class RandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 * prev + i, mod 2^32, without losing bits to float multiplication.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < N; k++) {
      const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % N]! & 0x7fffffff);
      mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** A uniform integer in [0, max] (max < 2^32), NumPy's `random_interval`. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    for (;;) {
      const value = (this.nextUint32() & mask) >>> 0;
      if (value <= max) return value;
    }
  }

  /** Shuffles in place as the legacy `RandomState.shuffle` of a 1-d array. */
  shuffle<T>(values: T[]): T[] {
    for (let i = values.length - 1; i >= 1; i--) {
      const j = this.interval(i);
      const swap = values[i]!;
      values[i] = values[j]!;
      values[j] = swap;
    }
    return values;
  }

  /** `permutation(n)`: a shuffled 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }
}
