import { describe, expect, it } from 'vitest';
import { runTimings } from '../../../src/drift/offline/timings.js';

describe("a drift run's timings", () => {
  it('splits a run that opened the engine into its phases, which add up to the total', () => {
    const t = runTimings({
      commandStarted: 60,
      engineLibraryLoaded: 110,
      engineOpened: 170,
      reportReady: 400,
      written: 402.5,
    });
    expect(t).toEqual({
      start: 60,
      engine_library: 50,
      engine_open: 60,
      read_and_compute: 230,
      output: 2.5,
      after_start: 292.5,
      total: 402.5,
    });
    expect(t.start + t.engine_library + t.engine_open + t.read_and_compute + t.output).toBe(t.total);
  });

  it('counts from the command when the engine was open before it (a second command in one process)', () => {
    const t = runTimings({
      commandStarted: 5_000,
      engineLibraryLoaded: 110,
      engineOpened: 170,
      reportReady: 5_300,
      written: 5_301,
    });
    expect(t).toMatchObject({ engine_library: 0, engine_open: 0, read_and_compute: 300, output: 1 });
    expect(t.after_start).toBe(301);
  });

  it('counts from the command when no engine was opened at all', () => {
    const t = runTimings({
      commandStarted: 40,
      engineLibraryLoaded: undefined,
      engineOpened: undefined,
      reportReady: 90,
      written: 91,
    });
    expect(t).toMatchObject({
      start: 40,
      engine_library: 0,
      engine_open: 0,
      read_and_compute: 50,
      after_start: 51,
    });
  });
});
