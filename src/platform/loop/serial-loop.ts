/**
 * A background loop whose runs never overlap: `start` queues a run at once and then every
 * `intervalMs` after the previous run ended; `runOnce` queues a run behind any queued or in
 * progress (tests call it: one called after `start` runs after the start's run, never beside it);
 * `stop` waits for the run in progress. A failed run is reported and the loop goes on.
 */
export interface SerialLoopOptions {
  /** Pause between the end of one run and the start of the next. */
  intervalMs: number;
  /** A run that threw; the next run still happens. */
  onError(err: unknown): void;
}

export class SerialLoop<T> {
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private chain: Promise<unknown> = Promise.resolve();
  private stopping = false;

  constructor(
    private readonly run: () => Promise<T>,
    private readonly options: SerialLoopOptions,
  ) {}

  /** True once `stop` was called: a long run may check it between steps and end early. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.runAndReschedule();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.chain.catch(() => undefined);
  }

  runOnce(): Promise<T> {
    const run = this.chain.catch(() => undefined).then(() => this.run());
    this.chain = run;
    return run;
  }

  private runAndReschedule(): void {
    this.runOnce()
      .catch((err: unknown) => this.options.onError(err))
      .finally(() => {
        if (this.stopping) return;
        this.timer = setTimeout(() => this.runAndReschedule(), this.options.intervalMs);
        this.timer.unref();
      });
  }
}
