import { SerialLoop, type SerialLoopOptions } from '../platform/loop/index.js';

/**
 * A SerialLoop whose `stop` also aborts the run in progress, which then ends at its next step: a
 * verification of 1M records (~25 s) or a trim waiting for its record (up to 30 s) would otherwise
 * outlast the 8 s shutdown deadline. The aborted run's rejection is not reported as a failure.
 */
export class AbortableLoop<T> extends SerialLoop<T> {
  private readonly halt: AbortController;

  constructor(run: (signal: AbortSignal) => Promise<T>, options: SerialLoopOptions) {
    const halt = new AbortController();
    super(() => run(halt.signal), {
      ...options,
      onError: (err) => {
        if (!halt.signal.aborted) options.onError(err);
      },
    });
    this.halt = halt;
  }

  override async stop(): Promise<void> {
    this.halt.abort();
    await super.stop();
  }
}
