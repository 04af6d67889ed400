/**
 * What a command leaves behind when a signal stops it. Node ends a process at once on SIGINT or
 * SIGTERM, so a benchmark's `finally` never ran: a Ctrl-C left its scratch data (GBs) in the
 * temporary directory, and its local broker's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Undoes something; may return a promise, which is awaited. */
type Cleanup = () => unknown;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const cleanups: Cleanup[] = [];

/**
 * Cleans up, then ends the process by the same signal, Node's handler gone (a shell reports 130
 * after a Ctrl-C). Not `process.exit`: the embedded engine's teardown at exit crashed while a
 * statement still ran, and went on writing into the directory just removed.
 */
async function cleanUpAndRaise(signal: NodeJS.Signals): Promise<void> {
  // A second signal ends the process at once, cleaned up or not.
  for (const s of SIGNALS) process.off(s, onSignal);
  // The newest first: a service process stops before the broker and the dir it uses go.
  for (const cleanup of [...cleanups].reverse())
    await Promise.resolve()
      .then(cleanup)
      .catch(() => undefined);
  process.kill(process.pid, signal);
}

const onSignal = (signal: NodeJS.Signals) => void cleanUpAndRaise(signal);

/**
 * Runs `cleanup` if SIGINT, SIGTERM or SIGHUP arrives before the returned release is called,
 * then ends the process by that signal. A normal end calls the release and cleans up itself.
 */
export function cleanUpOnSignal(cleanup: Cleanup): () => void {
  if (cleanups.length === 0) for (const signal of SIGNALS) process.on(signal, onSignal);
  cleanups.push(cleanup);
  return () => {
    const at = cleanups.indexOf(cleanup);
    if (at !== -1) cleanups.splice(at, 1);
    if (cleanups.length === 0) for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}

/** Removes `dir` and all in it; retried, as an engine may still be writing there. */
function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true, maxRetries: 5 });
}

/** A fresh directory in the temporary directory, removed by `remove` or when a signal stops the process. */
export async function scratchDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const release = cleanUpOnSignal(() => removeDir(dir));
  return {
    path: dir,
    remove: () => {
      release();
      return removeDir(dir);
    },
  };
}
