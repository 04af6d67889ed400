/**
 * The Page-Hinkley test (Page 1954) on a stream of numbers, as River 0.26 implements it
 * (`river.drift.PageHinkley`), so its figures can be compared value for value: a fading
 * cumulative sum of each value's deviation from the running mean, minus (or plus) `delta`; a
 * change is detected when the sum rises more than `threshold` above its lowest point (an
 * increase) or falls more than `threshold` below its highest (a decrease). After a detection
 * the detector starts over on the next value.
 */

export type PageHinkleyMode = 'up' | 'down' | 'both';

export interface PageHinkleyOptions {
  /** Values seen (since the last detection) before a change can be detected. @default 30 */
  minInstances?: number;
  /** Magnitude of change tolerated per value. @default 0.005 */
  delta?: number;
  /** Detection threshold (lambda). @default 50 */
  threshold?: number;
  /** Forgetting factor of the cumulative sums, in (0, 1]. @default 0.9999 */
  alpha?: number;
  /** Which changes of the mean to detect: increases, decreases or both. @default 'both' */
  mode?: PageHinkleyMode;
}

export const PAGE_HINKLEY_DEFAULTS: Required<PageHinkleyOptions> = {
  minInstances: 30,
  delta: 0.005,
  threshold: 50,
  alpha: 1 - 0.0001,
  mode: 'both',
};

export class PageHinkley {
  readonly options: Required<PageHinkleyOptions>;
  private n = 0;
  private mean = 0;
  private sumIncrease = 0;
  private sumDecrease = 0;
  private minIncrease = Infinity;
  private maxDecrease = -1;
  private detected = false;

  constructor(options: PageHinkleyOptions = {}) {
    this.options = { ...PAGE_HINKLEY_DEFAULTS, ...stripUndefined(options) };
  }

  /** Whether the last value completed a change. */
  get driftDetected(): boolean {
    return this.detected;
  }

  /** Values seen since the detector last started over. */
  get count(): number {
    return this.n;
  }

  /** Running mean since the detector last started over. */
  get runningMean(): number {
    return this.mean;
  }

  /** Adds one value; returns whether it completes a change. */
  update(x: number): boolean {
    if (this.detected) this.reset();
    const { alpha, delta, minInstances, threshold, mode } = this.options;
    // The same floating-point steps as River's Mean and PageHinkley, so both detect on the same value.
    this.n += 1;
    this.mean += (1 / this.n) * (x - this.mean);
    const dev = x - this.mean;
    this.sumIncrease = alpha * this.sumIncrease + dev - delta;
    this.sumDecrease = alpha * this.sumDecrease + dev + delta;
    if (this.sumIncrease < this.minIncrease) this.minIncrease = this.sumIncrease;
    if (this.sumDecrease > this.maxDecrease) this.maxDecrease = this.sumDecrease;
    if (this.n >= minInstances) {
      const up = this.sumIncrease - this.minIncrease > threshold;
      const down = this.maxDecrease - this.sumDecrease > threshold;
      this.detected = mode === 'up' ? up : mode === 'down' ? down : up || down;
    }
    return this.detected;
  }

  private reset(): void {
    this.n = 0;
    this.mean = 0;
    this.sumIncrease = 0;
    this.sumDecrease = 0;
    this.minIncrease = Infinity;
    // River starts the highest decrease sum at -1, not -Infinity; kept so detections match it.
    this.maxDecrease = -1;
    this.detected = false;
  }
}

/** Indices (0-based) of the values at which the detector signals a change. */
export function detectChanges(values: ArrayLike<number>, options: PageHinkleyOptions = {}): number[] {
  const detector = new PageHinkley(options);
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (detector.update(values[i]!)) out.push(i);
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
