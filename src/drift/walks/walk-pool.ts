/**
 * The KS and W1 walks of large numerical columns on worker threads, so that a window's columns
 * are walked on every core and overlap the engine's reading of the next batch of windows.
 *
 * A reference sample crosses to a worker without a copy when it lives in shared memory: stored
 * references are read into a SharedArrayBuffer (`readNativeFile(file, { shared: true })`), and
 * uploaded ones are copied there once (`inSharedMemory`, shared.ts); a column whose reference is elsewhere
 * (a segment's reference, built per request) is walked on the calling thread. A window's
 * sample is copied into one of a few reused shared slots: V8 frees a SharedArrayBuffer only when
 * a collection happens for other reasons (measured: twenty 160 MB buffers dropped one after the
 * other peaked at 3.1 GB shared against 0.35 GB private), so windows must not be read into fresh
 * shared memory one after another.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import {
  checkReferenceSample,
  type ColumnDriftResult,
  type DriftMethod,
  KS_EXACT_MAX_N,
  type NumericalReference,
} from '../statistics/index.js';

/** What a worker computes: `numericalDrift(method, ref, sorted, threshold)`. */
export interface WalkTask {
  method: DriftMethod;
  ref: NumericalReference;
  sorted: Float64Array;
  threshold: number;
}

/** A walk whose current sample is written into the worker's slot by `fill`. */
export interface FilledWalkTask extends Omit<WalkTask, 'sorted'> {
  length: number;
  fill(slot: Float64Array): Promise<unknown>;
}

export interface WalkPoolOptions {
  /** Worker threads. @default the number of cores (at most 4) */
  threads?: number | undefined;
  /**
   * Columns whose two samples hold fewer values than this are walked on the calling thread: a
   * message to a worker costs ~0.1 ms, a walk of 100k + 100k values ~2 ms.
   * @default 200_000
   */
  minValues?: number | undefined;
  /** Milliseconds an idle worker lives. @default 30_000 */
  idleTimeoutMs?: number | undefined;
}

const WORKER = new URL('./walk-worker.js', import.meta.url);

/** Methods that walk both sorted samples (PSI and JS only count bins: cheaper than a message). */
const WALKED: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein']);

/**
 * Samples of unequal sizes up to 10,000 get SciPy's exact KS p-value, a lattice-path recursion of
 * ~nR·nC·D steps: 5,000 × 3,000 drifted takes ~0.24 s and 10,000 × 9,999 ~0.5 s on one core, on
 * the thread that serves HTTP and Kafka unless a worker takes it. From this product on it goes to
 * one (2,000 × 1,000 drifted: ~12 ms). Equal sizes have a closed form (10,000 × 10,000: ~1.5 ms).
 */
const EXACT_KS_MIN_PRODUCT = 1_000_000;

function exactKsIsCostly(nR: number, nC: number): boolean {
  return nR !== nC && Math.max(nR, nC) <= KS_EXACT_MAX_N && nR * nC >= EXACT_KS_MIN_PRODUCT;
}

export class WalkPool {
  private pool: Piscina | undefined;
  private readonly minValues: number;
  private readonly threads: number;
  private readonly slots: Slots;

  private constructor(private readonly options: WalkPoolOptions) {
    this.minValues = options.minValues ?? 200_000;
    this.threads = options.threads ?? Math.min(4, availableParallelism());
    // Two per thread: each worker has its next column waiting while it walks one.
    this.slots = new Slots(2 * this.threads);
  }

  /**
   * A pool, or undefined where the compiled worker module is missing (the TypeScript sources run
   * under a test runner): callers then walk on their own thread, with the same results.
   */
  static create(options: WalkPoolOptions = {}): WalkPool | undefined {
    return existsSync(fileURLToPath(WORKER)) ? new WalkPool(options) : undefined;
  }

  /** Walks finished on the worker threads so far. */
  get completed(): number {
    return this.pool?.completed ?? 0;
  }

  /**
   * Whether a column whose current sample holds `currentLength` values goes to a worker: a long
   * walk, or a costly exact KS p-value.
   */
  accepts(method: DriftMethod, ref: NumericalReference | undefined, currentLength: number): boolean {
    if (
      ref === undefined ||
      !WALKED.has(method) ||
      !(ref.sorted.buffer instanceof SharedArrayBuffer) ||
      ref.sorted.length === 0 ||
      currentLength === 0
    )
      return false;
    const nR = ref.sorted.length;
    return nR + currentLength >= this.minValues || (method === 'ks' && exactKsIsCostly(nR, currentLength));
  }

  run(task: WalkTask): Promise<ColumnDriftResult> {
    const { sorted, ...rest } = task;
    return this.runFilled({
      ...rest,
      length: sorted.length,
      fill: (slot) => Promise.resolve(slot.set(sorted)),
    });
  }

  /**
   * `run` for a current sample that `fill` writes into the worker's slot (exactly `length` long):
   * straight from where it lives, such as the engine's result file, without a copy in between.
   */
  async runFilled(task: FilledWalkTask): Promise<ColumnDriftResult> {
    if (!(task.ref.sorted.buffer instanceof SharedArrayBuffer))
      throw new RangeError('WalkPool.run: the reference sample must be in shared memory (see accepts)');
    checkReferenceSample(task.ref.sorted);
    const { method, ref, threshold, length } = task;
    this.pool ??= new Piscina({
      filename: WORKER.href,
      minThreads: 0,
      maxThreads: this.threads,
      idleTimeout: this.options.idleTimeoutMs ?? 30_000,
    });
    const pool = this.pool;
    const slot = await this.slots.acquire(length);
    try {
      const sorted = slot.subarray(0, length);
      await task.fill(sorted);
      const walk: WalkTask = { method, ref, sorted, threshold };
      return (await pool.run(walk)) as ColumnDriftResult;
    } finally {
      this.slots.release(slot);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}

/** A fixed number of reused shared buffers, each grown to the largest sample it has carried. */
class Slots {
  private readonly free: Float64Array[] = [];
  private readonly waiting: ((slot: Float64Array) => void)[] = [];
  private made = 0;

  constructor(private readonly count: number) {}

  async acquire(length: number): Promise<Float64Array> {
    let slot = this.free.pop();
    if (!slot && this.made < this.count) {
      this.made++;
      slot = new Float64Array(0);
    }
    slot ??= await new Promise<Float64Array>((resolve) => this.waiting.push(resolve));
    // Grown by half again at least, so a series of slightly larger windows does not allocate each time.
    return slot.length >= length
      ? slot
      : new Float64Array(new SharedArrayBuffer(8 * Math.max(length, Math.ceil(slot.length * 1.5))));
  }

  release(slot: Float64Array): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }
}
