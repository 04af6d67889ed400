import { describe, expect, it } from 'vitest';
import { PublisherTrail } from '../../../src/triggers/publish/trail.js';

describe('the retrain publisher trail', () => {
  it('keeps the last events up to its capacity, oldest dropped, with their times', () => {
    let now = Date.parse('2026-12-02T10:00:00.000Z');
    const trail = new PublisherTrail(3, () => now);
    for (let i = 0; i < 5; i++) {
      trail.add(`event ${i}`, { i });
      now += 1_000;
    }
    const { events } = trail.snapshot();
    expect(events.map((e) => e.event)).toEqual(['event 2', 'event 3', 'event 4']);
    expect(events[0]).toEqual({ at: '2026-12-02T10:00:02.000Z', event: 'event 2', detail: { i: 2 } });
  });

  it('counts passes and keeps the last one with why each trigger was skipped', () => {
    const trail = new PublisherTrail(10, () => 0);
    expect(trail.snapshot()).toEqual({ events: [], passes: 0, lastPass: undefined });
    trail.pass({ owned: [], pending: -1, sent: 0, alreadyThere: 0, skipped: {} });
    trail.pass({
      owned: [1],
      pending: 2,
      sent: 1,
      alreadyThere: 0,
      skipped: { t1: 'partition 2 not owned' },
    });
    const { passes, lastPass } = trail.snapshot();
    expect(passes).toBe(2);
    expect(lastPass).toEqual({
      at: '1970-01-01T00:00:00.000Z',
      owned: [1],
      pending: 2,
      sent: 1,
      alreadyThere: 0,
      skipped: { t1: 'partition 2 not owned' },
    });
  });

  it('returns a copy: later events do not change a snapshot taken before', () => {
    const trail = new PublisherTrail();
    trail.add('a');
    const before = trail.snapshot();
    trail.add('b');
    expect(before.events).toHaveLength(1);
  });
});
