/**
 * Partitions the publisher was fenced out of while its group still assigned them to it, and when
 * to claim them back. Not every fence is a new owner: the coordinator aborts a transaction that
 * outlived its timeout (a send hanging through a long broker outage) and bumps the epoch itself
 * (KIP-360), and nothing else would claim the partition again before the next rebalance. A
 * heartbeat succeeds only while the group is stable in this member's generation, and a new owner
 * got the partition through a rebalance, which fails this member's heartbeats and then changes
 * its generation. So a partition is due once a heartbeat sent after the fence succeeded in the
 * fence's generation: the second to succeed after it, since the first may have been in flight.
 */
export class FencedOut {
  private readonly partitions = new Map<number, { generation: number; heartbeats: number }>();
  private heartbeats = 0;

  /** Partition p was fenced out of in `generation` (the publisher's assignment counter). */
  add(p: number, generation: number): void {
    this.partitions.set(p, { generation, heartbeats: this.heartbeats });
  }

  /** A heartbeat of the current consumer succeeded in `generation`: the partitions to claim back now. */
  heartbeat(generation: number): number[] {
    this.heartbeats += 1;
    const due: number[] = [];
    for (const [p, fenced] of this.partitions) {
      if (fenced.generation !== generation) this.partitions.delete(p);
      else if (this.heartbeats >= fenced.heartbeats + 2) {
        this.partitions.delete(p);
        due.push(p);
      }
    }
    return due;
  }

  /** The assignment changed: its claims replace any claim back. */
  clear(): void {
    this.partitions.clear();
  }

  list(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }
}
