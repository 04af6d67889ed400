/** Waits that stop() cuts short (the test delay, backoffs), so a stopping publisher never sleeps on. */
export class Waits {
  private readonly sleepers = new Set<() => void>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }
}

/** 250 ms doubling up to 10 s. */
export function backoff(attempt: number): number {
  return Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
}
