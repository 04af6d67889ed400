import { describe, expect, it } from 'vitest';
import { SerialLoop } from '../../../src/platform/loop/index.js';

/** A loop whose runs record when they start and end, each taking `ms`. */
function recordingLoop(ms: number, fail = () => false) {
  const events: string[] = [];
  const errors: unknown[] = [];
  let runs = 0;
  const loop = new SerialLoop(
    async () => {
      const run = (runs += 1);
      events.push(`start ${run}`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`end ${run}`);
      if (fail()) throw new Error(`run ${run} failed`);
      return run;
    },
    { intervalMs: 20, onError: (err) => errors.push(err) },
  );
  return { loop, events, errors };
}

describe('SerialLoop', () => {
  it('queues its first run at start: a runOnce called next waits for it, never runs beside it', async () => {
    const { loop, events } = recordingLoop(30);
    loop.start();
    expect(await loop.runOnce()).toBe(2);
    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    await loop.stop();
  });

  it('runs again every interval after the previous run ended, until stopped; stop waits for a run', async () => {
    const { loop, events } = recordingLoop(10);
    loop.start();
    loop.start(); // a second start is no second loop
    await expect.poll(() => events.filter((e) => e.startsWith('end')).length).toBeGreaterThanOrEqual(3);
    await loop.stop();
    const last = events.at(-1);
    expect(last?.startsWith('end')).toBe(true);
    // Never two at once: starts and ends alternate.
    events.forEach((e, i) => expect(e.startsWith(i % 2 === 0 ? 'start' : 'end')).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(events.at(-1)).toBe(last);
    expect(loop.stopped).toBe(true);
  });

  it('reports a failed run and goes on', async () => {
    let failures = 1;
    const { loop, events, errors } = recordingLoop(1, () => (failures -= 1) >= 0);
    loop.start();
    await expect.poll(() => events.filter((e) => e.startsWith('end')).length).toBeGreaterThanOrEqual(2);
    await loop.stop();
    expect(errors.map((e) => (e as Error).message)).toEqual(['run 1 failed']);
  });
});
