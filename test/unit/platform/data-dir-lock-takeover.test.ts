import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { lockDataDir } from '../../../src/platform/cli/index.js';

/**
 * Two processes taking over one stale lock: both read the stale pid, one (A) replaces the lock with
 * its own, then the other (B) removes what it judged stale. Played here in one process: the lock's
 * removal by B (rm or rename of the lock file) first lets A take the lock over.
 */
const race = vi.hoisted(() => ({ file: '', beforeRemoval: undefined as (() => void) | undefined }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  // Once, at the first removal of the lock file itself (not of a file beside it).
  const racing = (file: unknown) => {
    if (file !== race.file) return;
    const step = race.beforeRemoval;
    race.beforeRemoval = undefined;
    step?.();
  };
  return {
    ...actual,
    rm: (file: string, options?: Parameters<typeof actual.rm>[1]) => {
      racing(file);
      return actual.rm(file, options);
    },
    rename: (from: string, to: string) => {
      racing(from);
      return actual.rename(from, to);
    },
  };
});

const root = mkdtempSync(path.join(tmpdir(), 'mw-lock-race-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A process that runs until the test ends, as the lock of a live modelwatch names it. */
function liveLockContent(): string {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  onTestFinished(() => void child.kill('SIGKILL'));
  const pid = child.pid!;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}\n`;
}

describe.runIf(process.platform === 'linux')('taking over a stale data dir lock', () => {
  it('leaves the lock another process took over meanwhile, and names that process (both held the dir)', async () => {
    const dir = path.join(root, 'data');
    const file = path.join(dir, 'modelwatch.pid');
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, '999999999 1\n');
    const theirs = liveLockContent();
    race.file = file;
    race.beforeRemoval = () => writeFileSync(file, theirs);

    const outcome = await lockDataDir(dir).then(
      (release) => {
        release();
        return 'taken';
      },
      (err: unknown) => String(err),
    );

    expect(outcome).toContain(`another modelwatch (pid ${theirs.split(' ')[0]}) uses ${dir}`);
    expect(readFileSync(file, 'utf8')).toBe(theirs);
  });
});
