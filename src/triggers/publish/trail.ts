/**
 * What the retrain publisher saw, kept in memory for when it does not publish: the last events
 * (crashes, rebuilds, assignments, claims, partition ends, failed sends) with their times, and
 * what the last pass over the outbox skipped and why. A test that waits for a trigger prints it
 * on timeout (issue 13: one run of the all-brokers-killed test published nothing in 240 s, and
 * the warnings alone did not say which step it was stuck in).
 */
export interface TrailEvent {
  at: string;
  event: string;
  detail?: Record<string, unknown>;
}

/** One pass over the outbox: what this instance owned, what was pending and why each was not sent. */
export interface PassRecord {
  at: string;
  owned: number[];
  pending: number;
  sent: number;
  alreadyThere: number;
  /** trigger id → why it was skipped (not owned, not caught up: position/target). */
  skipped: Record<string, string>;
}

export class PublisherTrail {
  private readonly events: TrailEvent[] = [];
  private passes = 0;
  private lastPass: PassRecord | undefined;

  /** @param capacity events kept (the oldest are dropped) @default 50 */
  constructor(
    private readonly capacity = 50,
    private readonly now: () => number = Date.now,
  ) {}

  add(event: string, detail?: Record<string, unknown>): void {
    this.events.push({ at: new Date(this.now()).toISOString(), event, ...(detail ? { detail } : {}) });
    if (this.events.length > this.capacity) this.events.shift();
  }

  pass(record: Omit<PassRecord, 'at'>): void {
    this.passes += 1;
    this.lastPass = { at: new Date(this.now()).toISOString(), ...record };
  }

  /** `passes` that stop growing mean the publishing chain is stuck in a claim or a send. */
  snapshot(): { events: TrailEvent[]; passes: number; lastPass: PassRecord | undefined } {
    return { events: [...this.events], passes: this.passes, lastPass: this.lastPass };
  }
}
