import { describe, expect, it } from 'vitest';
import type { Database } from '../../../src/platform/clickhouse/index.js';
import { MEMBER_SLOT, owners, planLeases, SlotLeases, type LeaseRow } from '../../../src/shadow/leases.js';

const claim = (slot: number, holder: string, taken: number): LeaseRow => ({ slot, holder, taken });
const member = (holder: string): LeaseRow => claim(MEMBER_SLOT, holder, 0);

describe('owners', () => {
  it('gives each slot to its earliest claim, ties to the lower holder name, and ignores other slots', () => {
    const o = owners(
      [claim(0, 'b', 10), claim(0, 'a', 20), claim(1, 'b', 5), claim(1, 'a', 5), member('c')],
      4,
    );
    expect([...o].map(([s, r]) => [s, r.holder])).toEqual([
      [0, 'b'],
      [1, 'a'],
    ]);
  });
});

describe('planLeases', () => {
  it('claims every free slot when alone', () => {
    expect(planLeases([], 'a', 4)).toMatchObject({ keep: [], release: [], claim: [0, 1, 2, 3] });
  });

  it('claims nothing when another instance holds every slot, and that instance then gives half back', () => {
    const rows = [member('a'), ...[0, 1, 2, 3].map((s) => claim(s, 'a', 1)), member('b')];
    expect(planLeases(rows, 'b', 4)).toMatchObject({ keep: [], release: [], claim: [] });
    const a = planLeases(rows, 'a', 4);
    expect(a).toMatchObject({ keep: [0, 1], release: [2, 3], claim: [] });
    // A renewal keeps the claim's time, so the owner keeps its priority.
    expect([...a.taken]).toEqual([
      [0, 1],
      [1, 1],
    ]);
  });

  it('takes the slots given back, up to its share', () => {
    const rows = [member('a'), claim(0, 'a', 1), claim(1, 'a', 1), member('b')];
    expect(planLeases(rows, 'b', 4)).toMatchObject({ keep: [], claim: [2, 3] });
    // Three instances over four slots: a share of two each, first come.
    expect(planLeases([...rows, member('c')], 'c', 4)).toMatchObject({ claim: [2, 3] });
  });

  it('keeps a lost claim out of its slots', () => {
    const rows = [claim(0, 'a', 5), claim(0, 'b', 6)];
    expect(planLeases(rows, 'b', 1)).toMatchObject({ keep: [], claim: [] });
  });
});

describe('SlotLeases options', () => {
  const db = {} as Database;
  it.each([
    [{ slots: 0 }, /leases.slots must be a whole number 1..256, not 0/],
    [{ slots: 1.5 }, /leases.slots/],
    [{ slots: 257 }, /leases.slots/],
    [{ ttlMs: Number.NaN }, /leases.ttlMs must be 100..3600000, not NaN/],
    [{ ttlMs: Number.POSITIVE_INFINITY }, /leases.ttlMs/],
    [{ ttlMs: 1000, settleMs: 400 }, /leases.settleMs must be 0..ttlMs\/3/],
    [{ holder: '' }, /leases.holder/],
    [{ holder: 'x'.repeat(10_000) }, /leases.holder/],
  ])('refuses %o naming the option', (options, message) => {
    expect(() => new SlotLeases(db, options)).toThrow(message);
  });
});
