import { ModelwatchError } from '../errors.js';

/** A held slot (one engine connection); `release` hands it to the next waiter, once. */
export interface Slot {
  readonly index: number;
  release(): void;
}

export interface SlotQueueOptions {
  slots: number;
  /** Waiters of bounded acquisitions beyond which a bounded acquisition is refused. */
  maxQueued: number;
}

/** Why a bounded acquisition was refused: the engine is saturated, try again shortly. */
export class EngineBusyError extends ModelwatchError {
  /** Read by Fastify's error handler: the answer is a 503 … */
  readonly statusCode = 503;
  /** … with Retry-After. */
  readonly headers: Record<string, string>;

  constructor(queued: number, retryAfterSeconds: number) {
    super(
      'CLICKHOUSE_UNAVAILABLE',
      `embedded ClickHouse is saturated: ${queued} queries waiting; retry in ${retryAfterSeconds} s`,
      true,
    );
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

interface Waiter {
  bounded: boolean;
  grant(slot: Slot): void;
  refuse(err: Error): void;
}

/**
 * Fair (first come, first served) access to a fixed set of slots, with an urgent lane served
 * first (health checks). Only bounded waiters count toward `maxQueued`, so writes that must not
 * be lost can always wait.
 */
export class SlotQueue {
  private readonly free: number[];
  private readonly urgent: Waiter[] = [];
  private readonly normal: Waiter[] = [];
  private boundedWaiting = 0;
  private closedWith: Error | undefined;
  /** Mean time a slot is held, ms (exponential average): for Retry-After. */
  private heldMs = 50;

  constructor(private readonly options: SlotQueueOptions) {
    this.free = Array.from({ length: options.slots }, (_, i) => i);
  }

  get waiting(): number {
    return this.urgent.length + this.normal.length;
  }

  get busy(): number {
    return this.options.slots - this.free.length;
  }

  acquire(options: { urgent?: boolean; bounded?: boolean } = {}): Promise<Slot> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const index = this.free.pop();
    if (index !== undefined) return Promise.resolve(this.slot(index));
    const bounded = options.bounded ?? false;
    if (bounded && this.boundedWaiting >= this.options.maxQueued) {
      const seconds = Math.ceil((this.waiting * this.heldMs) / this.options.slots / 1000);
      return Promise.reject(new EngineBusyError(this.boundedWaiting, Math.min(60, Math.max(1, seconds))));
    }
    return new Promise<Slot>((grant, refuse) => {
      if (bounded) this.boundedWaiting += 1;
      (options.urgent ? this.urgent : this.normal).push({ bounded, grant, refuse });
    });
  }

  /** Refuses every waiter and every later acquisition with `err`; held slots stay held. */
  close(err: Error): void {
    this.closedWith = err;
    for (const waiter of [...this.urgent.splice(0), ...this.normal.splice(0)]) waiter.refuse(err);
    this.boundedWaiting = 0;
  }

  private slot(index: number): Slot {
    const since = performance.now();
    let released = false;
    return {
      index,
      release: () => {
        if (released) return;
        released = true;
        this.heldMs = 0.9 * this.heldMs + 0.1 * (performance.now() - since);
        this.handOver(index);
      },
    };
  }

  private handOver(index: number): void {
    const next = this.urgent.shift() ?? this.normal.shift();
    if (!next) {
      this.free.push(index);
      return;
    }
    if (next.bounded) this.boundedWaiting -= 1;
    next.grant(this.slot(index));
  }
}
