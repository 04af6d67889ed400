import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { BROKER_LOCK_FILE, lockDataDir, refuseIfHeld } from '../../../src/platform/cli/index.js';
import { errorMessage } from '../../../src/platform/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'mw-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
const freshDir = () => path.join(root, `data-${++dirs}`);
const lockFile = (dir: string) => path.join(dir, 'modelwatch.pid');

/** A process that runs until the test ends. */
function otherProcess(): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  onTestFinished(() => void child.kill('SIGKILL'));
  return child.pid!;
}

/** The start time /proc gives `pid` (Linux), as the lock records it. */
function startTicks(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** `dir` with a lock file holding `content`, as another process would have left it. */
function heldBy(dir: string, content: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(lockFile(dir), content);
}

describe('the data dir lock of modelwatch up', () => {
  it('is taken in a new dir, records this pid, and is gone once released', async () => {
    const dir = freshDir();
    const release = await lockDataDir(dir);
    expect(readFileSync(lockFile(dir), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    release();
    expect(existsSync(lockFile(dir))).toBe(false);
  });

  it('is refused while another live process holds it, naming that pid and the dir', async () => {
    const dir = freshDir();
    const pid = otherProcess();
    heldBy(dir, `${pid} ${startTicks(pid)}\n`);
    const refused = await lockDataDir(dir).then(
      () => 'taken',
      (err: unknown) => errorMessage(err),
    );
    expect(refused).toBe(`another modelwatch (pid ${pid}) uses ${dir}`);
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${pid} ${startTicks(pid)}\n`);
  });

  it('is taken over from a process that is gone, or from a pid reused by another process', async () => {
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(gone, 'exit');
    const reused = otherProcess();
    for (const stale of [`${gone.pid} 1\n`, `${reused} 1\n`, 'garbage']) {
      const dir = freshDir();
      heldBy(dir, stale);
      const release = await lockDataDir(dir);
      expect(readFileSync(lockFile(dir), 'utf8'), stale).toMatch(new RegExp(`^${process.pid} `));
      release();
    }
  });

  it("leaves another's lock in place on release (one taken over after this one went stale)", async () => {
    const dir = freshDir();
    const release = await lockDataDir(dir);
    const pid = otherProcess();
    writeFileSync(lockFile(dir), `${pid} ${startTicks(pid)}\n`);
    release();
    expect(existsSync(lockFile(dir))).toBe(true);
  });

  it("a broker's lock (kafka --data-dir) leaves the dir's engine free: serve, keys and audit verify may open it", async () => {
    const dir = freshDir();
    const pid = otherProcess();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, BROKER_LOCK_FILE), `${pid} ${startTicks(pid)}\n`);
    expect(() => refuseIfHeld(dir, 'http://127.0.0.1:1')).not.toThrow();
    const release = await lockDataDir(dir);
    release();
    // While the engine's lock names a live process, both refuse.
    heldBy(dir, `${pid} ${startTicks(pid)}\n`);
    expect(() => refuseIfHeld(dir, 'http://127.0.0.1:1')).toThrow(`modelwatch (pid ${pid}) holds ${dir}`);
    await expect(lockDataDir(dir)).rejects.toThrow(`another modelwatch (pid ${pid}) uses ${dir}`);
    await expect(lockDataDir(dir, BROKER_LOCK_FILE)).rejects.toThrow(
      `another modelwatch (pid ${pid}) uses ${dir}`,
    );
  });
});
