/**
 * Runs async work one at a time per key, in arrival order, within this process; other keys run
 * concurrently. A failed run releases the key like a successful one.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      // The last waiter of a key removes it, so finished keys do not accumulate.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
