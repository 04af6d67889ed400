/**
 * Work sharing between service instances: each challenger's predictions are split into `slots`
 * by the hash of their id (feed-sql.ts `SLOT_SQL`), and each slot is scored by the instance
 * holding its lease in `shadow_leases` (migration 44). ClickHouse has no compare-and-set, so a
 * lease is a claim row per (slot, instance): the earliest unexpired claim owns the slot, and a
 * claimant reads the table again after `settleMs` before scoring, so two instances claiming at
 * once agree on one winner. Exclusivity is an optimisation only: two instances scoring the same
 * rows store the same shadow rows, which `shadow_scores` collapses.
 */
import { randomUUID } from 'node:crypto';
import type { ModelVersionRecord } from '../models/index.js';
import type { Database } from '../platform/clickhouse/index.js';
import { ModelwatchError } from '../platform/errors.js';

/** The slot number of an instance's membership row (it counts towards the fair share). */
export const MEMBER_SLOT = 65_535;

export interface LeaseOptions {
  /** Work-sharing slots per challenger (1..256). @default 4 */
  slots?: number | undefined;
  /** How long a claim lasts without renewal; renewed every third of it. @default 15000 */
  ttlMs?: number | undefined;
  /** Wait between claiming slots and reading who won them. @default 250 */
  settleMs?: number | undefined;
  /** This instance's name in `shadow_leases`. @default a random UUID */
  holder?: string | undefined;
}

export interface LeaseRow {
  slot: number;
  holder: string;
  taken: number;
}

export interface LeasePlan {
  /** Slots this instance owns and keeps (renewed). */
  keep: number[];
  /** Slots this instance owns beyond its share (released). */
  release: number[];
  /** Free slots this instance claims. */
  claim: number[];
  /** Owner's claim time per kept slot, so a renewal keeps its priority. */
  taken: Map<number, number>;
}

/** The owner of each slot: its earliest unexpired claim (ties by holder name). */
export function owners(rows: readonly LeaseRow[], slots: number): Map<number, LeaseRow> {
  const owner = new Map<number, LeaseRow>();
  for (const row of rows) {
    if (row.slot >= slots) continue;
    const o = owner.get(row.slot);
    if (!o || row.taken < o.taken || (row.taken === o.taken && row.holder < o.holder))
      owner.set(row.slot, row);
  }
  return owner;
}

/**
 * What `me` does with the live claims: keep what it owns up to its fair share (the slot count
 * over the live instances, rounded up), release the rest, and claim free slots up to the share.
 */
export function planLeases(rows: readonly LeaseRow[], me: string, slots: number): LeasePlan {
  const members = new Set(rows.map((r) => r.holder)).add(me);
  const share = Math.ceil(slots / members.size);
  const owner = owners(rows, slots);
  const mine: number[] = [];
  const free: number[] = [];
  for (let s = 0; s < slots; s++) {
    const o = owner.get(s);
    if (o === undefined) free.push(s);
    else if (o.holder === me) mine.push(s);
  }
  const keep = mine.slice(0, share);
  const taken = new Map(keep.map((s) => [s, (owner.get(s) as LeaseRow).taken]));
  return { keep, release: mine.slice(share), claim: free.slice(0, Math.max(0, share - keep.length)), taken };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One instance's leases on the challengers' slots. */
export class SlotLeases {
  readonly slots: number;
  readonly ttlMs: number;
  readonly holder: string;
  private readonly settleMs: number;

  constructor(
    private readonly db: Database,
    options: LeaseOptions = {},
  ) {
    this.slots = options.slots ?? 4;
    this.ttlMs = options.ttlMs ?? 15_000;
    this.settleMs = options.settleMs ?? 250;
    this.holder = options.holder ?? randomUUID();
    if (!Number.isInteger(this.slots) || this.slots < 1 || this.slots > 256)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `shadow leases.slots must be a whole number 1..256, not ${this.slots}`,
      );
    if (!Number.isFinite(this.ttlMs) || this.ttlMs < 100 || this.ttlMs > 3_600_000)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `shadow leases.ttlMs must be 100..3600000, not ${this.ttlMs}`,
      );
    if (!Number.isFinite(this.settleMs) || this.settleMs < 0 || this.settleMs >= this.ttlMs / 3)
      throw new ModelwatchError(
        'CONFIG_INVALID',
        `shadow leases.settleMs must be 0..ttlMs/3, not ${this.settleMs}`,
      );
    if (this.holder.length === 0 || this.holder.length > 200)
      throw new ModelwatchError('CONFIG_INVALID', 'shadow leases.holder must be 1..200 characters');
  }

  /** Renews, releases and claims this instance's share of `c`'s slots; the slots it owns now. */
  async maintain(c: ModelVersionRecord): Promise<number[]> {
    const plan = planLeases(await this.read(c), this.holder, this.slots);
    const now = Date.now();
    await this.write(c, [
      { slot: MEMBER_SLOT, taken: now, expires: now + this.ttlMs },
      ...plan.keep.map((slot) => ({ slot, taken: plan.taken.get(slot) ?? now, expires: now + this.ttlMs })),
      ...plan.release.map((slot) => ({ slot, taken: now, expires: now - this.ttlMs })),
      ...plan.claim.map((slot) => ({ slot, taken: now, expires: now + this.ttlMs })),
    ]);
    if (plan.claim.length === 0) return plan.keep;
    await sleep(this.settleMs);
    const owner = owners(await this.read(c), this.slots);
    const lost = plan.claim.filter((s) => owner.get(s)?.holder !== this.holder);
    if (lost.length > 0)
      await this.write(
        c,
        lost.map((slot) => ({ slot, taken: now, expires: Date.now() - this.ttlMs })),
      );
    return [...plan.keep, ...plan.claim.filter((s) => !lost.includes(s))].sort((a, b) => a - b);
  }

  /** Gives up every claim on `c` (the instance stops, or the challenger left `shadow`). */
  async release(c: ModelVersionRecord): Promise<void> {
    const mine = (await this.read(c)).filter((r) => r.holder === this.holder);
    const expired = Date.now() - this.ttlMs;
    if (mine.length > 0)
      await this.write(
        c,
        mine.map((r) => ({ slot: r.slot, taken: r.taken, expires: expired })),
      );
  }

  private async read(c: ModelVersionRecord): Promise<LeaseRow[]> {
    const result = await this.db.client.query({
      query: `SELECT slot, holder, toUnixTimestamp64Milli(taken_at) AS taken FROM shadow_leases FINAL
        WHERE model_id = {model:String} AND challenger_version = {version:String}
          AND expires_at > fromUnixTimestamp64Milli({now:Int64}, 'UTC')`,
      query_params: { model: c.model_id, version: c.model_version, now: Date.now() },
      format: 'JSONEachRow',
    });
    return (await result.json<LeaseRow>()).map((r) => ({
      slot: Number(r.slot),
      holder: r.holder,
      taken: Number(r.taken),
    }));
  }

  /**
   * A claim given back is written as expired a lease length ago (so an instance whose clock is
   * behind reads it as expired too), not at 0: a row already past the table's TTL (expires_at +
   * 1 day) is dropped as it is inserted, and the claim it was to end held on.
   */
  private async write(
    c: ModelVersionRecord,
    claims: readonly { slot: number; taken: number; expires: number }[],
  ): Promise<void> {
    const updated = Date.now();
    await this.db.client.insert({
      table: 'shadow_leases',
      format: 'JSONEachRow',
      values: claims.map((claim) => ({
        model_id: c.model_id,
        challenger_version: c.model_version,
        slot: claim.slot,
        holder: this.holder,
        taken_at: claim.taken,
        expires_at: claim.expires,
        updated_at: updated,
      })),
    });
  }
}
