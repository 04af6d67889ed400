/**
 * CBPE's calibration fits on a worker thread. A fit is ten isotonic fits and a few sorts of the
 * whole reference: 4.2 s at 300k labeled rows and 42 s at 2M on this 2-core machine, with pauses
 * of up to 9.5 s between its steps on the calling thread (session 28), long enough to hold up
 * HTTP answers and Kafka heartbeats. On a worker the service's event loop only copies the rows
 * there (9 bytes a row) and the calibrator back.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { CalibrationFit } from './fit.js';
import type { FitTask } from './fit-worker.js';

const WORKER = new URL('./fit-worker.js', import.meta.url);

export class CalibrationPool {
  private pool: Piscina | undefined;

  private constructor(private readonly idleTimeoutMs: number) {}

  /**
   * A pool, or undefined where the compiled worker module is missing (the TypeScript sources run
   * under a test runner): callers then fit on their own thread, with the same results.
   */
  static create(options: { idleTimeoutMs?: number } = {}): CalibrationPool | undefined {
    return existsSync(fileURLToPath(WORKER))
      ? new CalibrationPool(options.idleTimeoutMs ?? 30_000)
      : undefined;
  }

  /** Fits finished on the worker so far. */
  get completed(): number {
    return this.pool?.completed ?? 0;
  }

  /** One fit at a time (a second waits): fits are rare, and each takes a core while it runs. */
  async fit(scores: Float64Array, labels: Uint8Array): Promise<CalibrationFit> {
    this.pool ??= new Piscina({
      filename: WORKER.href,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: this.idleTimeoutMs,
    });
    const task: FitTask = { scores, labels };
    return (await this.pool.run(task)) as CalibrationFit;
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}
