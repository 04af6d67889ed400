import { ENGINE_MARKS } from '../../platform/clickhouse/index.js';

/** Moments of one run, in ms since the process started (`performance.now()`). */
export interface RunMoments {
  commandStarted: number;
  /** The engine's library loaded and its database opened; undefined if this run did not open it. */
  engineLibraryLoaded: number | undefined;
  engineOpened: number | undefined;
  reportReady: number;
  written: number;
}

/** Where a run's time went (ms). `after_start` is what a comparison with an in-process timer should use. */
export interface RunTimings {
  /** Node and the command's modules, from the process's start. */
  start: number;
  /** Loading the engine's library (`dlopen` of libchdb.so), and the little the command does before it. */
  engine_library: number;
  /** The engine's first connection and its database. */
  engine_open: number;
  read_and_compute: number;
  /** Formatting and writing the report. */
  output: number;
  /** Everything after the process's start and the engine library's load. */
  after_start: number;
  /** From the process's start to the report written (the engine's shutdown at exit comes after). */
  total: number;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The phases of a run. A process whose engine was open before the command began (a test running
 * several commands) reports both engine phases as 0 and counts from the command's start.
 */
export function runTimings(moments: RunMoments): RunTimings {
  const { commandStarted, engineLibraryLoaded: loaded, engineOpened: opened } = moments;
  const fresh = loaded !== undefined && opened !== undefined && loaded >= commandStarted;
  const libraryLoaded = fresh ? loaded : commandStarted;
  const workStarted = fresh ? opened : commandStarted;
  return {
    start: round(commandStarted),
    engine_library: round(libraryLoaded - commandStarted),
    engine_open: round(workStarted - libraryLoaded),
    read_and_compute: round(moments.reportReady - workStarted),
    output: round(moments.written - moments.reportReady),
    after_start: round(moments.written - libraryLoaded),
    total: round(moments.written),
  };
}

/** The latest mark of this name in the process, if any. */
export function markedAt(name: keyof typeof ENGINE_MARKS): number | undefined {
  return performance.getEntriesByName(ENGINE_MARKS[name], 'mark').at(-1)?.startTime;
}
