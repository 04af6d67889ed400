/**
 * The KS and W1 walks of large numerical columns on worker threads, so that a window's columns
 * are walked on every core and overlap the engine's reading of the next batch of windows.
 *
 * Samples cross to a worker without a copy when they live in shared memory: windows and stored
 * references are read into a SharedArrayBuffer (`readNativeFile(file, { shared: true })`); any
 * other reference sample (uploaded rows) is copied into shared memory once and reused.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import {
  checkReferenceSample,
  type ColumnDriftResult,
  type DriftMethod,
  type NumericalReference,
} from '../statistics/index.js';

/** What a worker computes: `numericalDrift(method, ref, sorted, threshold)`. */
export interface WalkTask {
  method: DriftMethod;
  ref: NumericalReference;
  sorted: Float64Array;
  threshold: number;
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

export class WalkPool {
  private pool: Piscina | undefined;
  private readonly shared = new WeakMap<Float64Array, Float64Array>();
  private readonly minValues: number;

  private constructor(private readonly options: WalkPoolOptions) {
    this.minValues = options.minValues ?? 200_000;
  }

  /**
   * A pool, or undefined where the compiled worker module is missing (the TypeScript sources run
   * under a test runner): callers then walk on their own thread, with the same results.
   */
  static create(options: WalkPoolOptions = {}): WalkPool | undefined {
    return existsSync(fileURLToPath(WORKER)) ? new WalkPool(options) : undefined;
  }

  /** Whether this column goes to a worker. */
  accepts(method: DriftMethod, ref: NumericalReference | undefined, sorted: Float64Array): boolean {
    return (
      ref !== undefined &&
      WALKED.has(method) &&
      ref.sorted.length > 0 &&
      sorted.length > 0 &&
      ref.sorted.length + sorted.length >= this.minValues
    );
  }

  async run(task: WalkTask): Promise<ColumnDriftResult> {
    checkReferenceSample(task.ref.sorted);
    const ref = { ...task.ref, sorted: this.inShared(task.ref.sorted) };
    this.pool ??= new Piscina({
      filename: WORKER.href,
      minThreads: 0,
      maxThreads: this.options.threads ?? Math.min(4, availableParallelism()),
      idleTimeout: this.options.idleTimeoutMs ?? 30_000,
    });
    return (await this.pool.run({ ...task, ref, sorted: this.inShared(task.sorted) })) as ColumnDriftResult;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  /** The same values in shared memory; a sample outside it is copied once (references are reused). */
  private inShared(values: Float64Array): Float64Array {
    if (values.buffer instanceof SharedArrayBuffer) return values;
    let copy = this.shared.get(values);
    if (!copy) {
      copy = new Float64Array(new SharedArrayBuffer(values.byteLength));
      copy.set(values);
      this.shared.set(values, copy);
    }
    return copy;
  }
}
