/**
 * CBPE's calibration fits on a worker thread. A fit is ten isotonic fits and a few sorts of the
 * whole reference: 2.6–3.0 s at 300k labeled rows and 20–25 s at 2M here, which on the calling
 * thread paused its event loop for up to 0.6 s and 5.7 s between steps, long enough to hold up
 * HTTP answers and Kafka heartbeats (16 ms at most with the worker; performance-estimation
 * README). The event loop only copies the rows there (9 bytes a row) and the calibrator back.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { CalibrationFit } from './fit.js';
import type { FitTask } from './fit-worker.js';

const WORKER = new URL('./fit-worker.js', import.meta.url);

export class CalibrationPool {
  private pool: Piscina | undefined;
  private closed = false;

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

  /**
   * One fit at a time (a second waits): fits are rare, and each takes a core while it runs.
   * Refused once closed: a refit that reaches its fit during shutdown would otherwise start a
   * new worker that nothing closes, and run a whole fit while the service stops.
   */
  async fit(scores: Float64Array, labels: Uint8Array): Promise<CalibrationFit> {
    if (this.closed) throw new Error('the calibration pool is closed: the service is stopping');
    this.pool ??= new Piscina({
      filename: WORKER.href,
      minThreads: 0,
      maxThreads: 1,
      idleTimeout: this.idleTimeoutMs,
    });
    const task: FitTask = { scores, labels };
    return (await this.pool.run(task)) as CalibrationFit;
  }

  /** Ends the worker: a fit running there rejects, and later fits are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }
}
