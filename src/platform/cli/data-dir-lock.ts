/**
 * One `modelwatch up`, `serve` on the embedded engine or `kafka --data-dir` per data dir. A second one on a dir in use started a
 * second Kafka broker on the live broker's log dir, which then could not stop cleanly and left its
 * metadata log corrupt. The lock is a file holding the owner's pid; one whose owner is gone (a
 * crash, SIGKILL) is stale and taken over.
 */
import { readFileSync, rmSync } from 'node:fs';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ModelwatchError } from '../errors.js';
import { processExists } from '../processes.js';

/** The lock of a data dir's embedded engine (`up`, `serve`). */
const LOCK_FILE = 'modelwatch.pid';
/** The lock of a broker's log dir (`kafka --data-dir`): no engine, so `serve` may share the dir. */
export const BROKER_LOCK_FILE = 'kafka.pid';

/** Who holds a lock: its pid and, on Linux, when that process started (a reused pid is not it). */
interface Owner {
  pid: number;
  started: string | undefined;
}

/** The process's start time in clock ticks since boot, from /proc (Linux); undefined elsewhere or when gone. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name (which may hold spaces); starttime is the 22nd field.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function parseOwner(text: string): Owner | undefined {
  const [pid, started] = text.trim().split(/\s+/);
  const n = Number(pid);
  return Number.isSafeInteger(n) && n > 0 ? { pid: n, started: started || undefined } : undefined;
}

function isRunning(owner: Owner): boolean {
  // This process's own pid in a lock it has not taken yet: a previous life of the pid (a container).
  if (owner.pid === process.pid) return false;
  if (!processExists(owner.pid)) return false;
  const started = startTicks(owner.pid);
  return owner.started === undefined || started === undefined || started === owner.started;
}

/**
 * Creates the lock file whole or not at all: written aside, then hard-linked into place, which
 * fails if the lock exists (another process never reads a half-written pid).
 */
async function createLock(file: string, content: string): Promise<boolean> {
  const aside = `${file}.${process.pid}`;
  await writeFile(aside, content);
  try {
    await link(aside, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(aside, { force: true });
  }
}

/**
 * Removes the lock `file` only if it still holds `stale`, what was judged stale. Two processes
 * taking over one stale lock both removed "it": the second removal deleted the first one's fresh
 * lock, and both held the dir. A file is moved aside first (of two renames of one file only one
 * moves it), and what moved is put back when it is not the stale lock.
 */
async function removeIfUnchanged(file: string, stale: string): Promise<void> {
  const aside = `${file}.stale.${process.pid}`;
  try {
    await rename(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // taken over or released meanwhile
    throw err;
  }
  try {
    if ((await readFile(aside, 'utf8')) !== stale) await link(aside, file).catch(ignoreExisting);
  } finally {
    await rm(aside, { force: true });
  }
}

/** A lock created at the path meanwhile is the one that holds; the one moved aside is lost with it. */
function ignoreExisting(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
}

/**
 * Takes `dir` for this process, or fails naming the process that holds it. Returns the release,
 * also done at exit (`process.exit` on a second Ctrl-C skips the caller's `finally`).
 */
export async function lockDataDir(dir: string, name = LOCK_FILE): Promise<() => void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  const content = `${process.pid} ${startTicks(process.pid) ?? ''}\n`;
  // Three times at most: after a stale lock's removal, and after a lock released meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLock(file, content)) return releaseAtExit(file, content);
    const held = await readFile(file, 'utf8').catch(() => undefined);
    if (held === undefined) continue;
    const owner = parseOwner(held);
    if (owner && isRunning(owner))
      throw new ModelwatchError('CONFLICT', `another modelwatch (pid ${owner.pid}) uses ${dir}`);
    await removeIfUnchanged(file, held);
  }
  throw new ModelwatchError('CONFLICT', `could not lock ${dir}: ${file} keeps coming back`);
}

/**
 * Fails when a running modelwatch holds `dir` (for a command about to open its embedded engine):
 * the engine's own refusal was a two-line "Cannot lock file" that named no process and no port.
 * `base` is where the command looked for that service's API and found none.
 */
export function refuseIfHeld(dir: string, base: string): void {
  const pid = engineHolder(dir);
  if (pid === undefined) return;
  throw new ModelwatchError(
    'CONFLICT',
    `modelwatch (pid ${pid}) holds ${dir} and does not answer on ${base}: set MODELWATCH_API_PORT to the port it listens on`,
  );
}

/**
 * The pid of the running modelwatch that holds `dir`'s embedded engine (`up`, `serve`: its
 * `modelwatch.pid` names a live process), or undefined when none does. A broker's lock
 * (`kafka.pid`) is not one: it leaves the engine free.
 */
export function engineHolder(dir: string): number | undefined {
  let text = '';
  try {
    text = readFileSync(path.join(dir, LOCK_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const owner = parseOwner(text);
  return owner && isRunning(owner) ? owner.pid : undefined;
}

function releaseAtExit(file: string, content: string): () => void {
  const release = () => {
    process.off('exit', release);
    removeIfOwned(file, content);
  };
  process.on('exit', release);
  return release;
}

/** Removes the lock if it is still this process's own (a stale lock taken over since is another's). */
function removeIfOwned(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
  } catch {
    // Gone already: nothing to release.
  }
}
