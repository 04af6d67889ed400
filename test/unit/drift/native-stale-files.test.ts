import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { access, constants, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeOfflineDatabase, readFileColumns } from '../../../src/drift/offline/file-read.js';
import { removeStaleNativeFiles, STALE_NATIVE_FILE_MS } from '../../../src/drift/store/native.js';

const dirs: string[] = [];
afterAll(async () => {
  await closeOfflineDatabase();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The id of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid;
}

async function file(dir: string, name: string, ageMs: number, now: number): Promise<string> {
  const at = path.join(dir, name);
  await writeFile(at, 'x');
  const seconds = (now - ageMs) / 1000;
  await utimes(at, seconds, seconds);
  return name;
}

describe('stale Native result files', () => {
  it('removes only old files of processes that are gone, and nothing that is not a result file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-native-sweep-'));
    dirs.push(dir);
    const now = Date.now();
    const old = STALE_NATIVE_FILE_MS + 60_000;
    const dead = deadPid();
    const stale = await file(dir, `modelwatch-native-${dead}-${randomUUID()}.bin`, old, now);
    const recent = await file(dir, `modelwatch-native-${dead}-${randomUUID()}.bin`, 1_000, now);
    const live = await file(dir, `modelwatch-native-${process.pid}-${randomUUID()}.bin`, old, now);
    const other = await file(dir, `modelwatch-native-${dead}-notes.txt`, old, now);
    const foreign = await file(dir, 'someone-elses.bin', old, now);
    // A pid no process can have (beyond the kernel's range): gone, so cleared like a dead one.
    const absurd = await file(dir, `modelwatch-native-99999999999999999999-${randomUUID()}.bin`, old, now);

    expect(await removeStaleNativeFiles(dir, now)).toBe(2);
    const left = await readdir(dir);
    expect(left).not.toContain(stale);
    expect(left).not.toContain(absurd);
    expect(left.sort()).toEqual([recent, live, other, foreign].sort());
  });

  it("are cleared from the spool directory by this process's first engine read", async () => {
    const spool = await access('/dev/shm', constants.W_OK).then(
      () => '/dev/shm',
      () => tmpdir(),
    );
    const now = Date.now();
    const stale = await file(
      spool,
      `modelwatch-native-${deadPid()}-${randomUUID()}.bin`,
      STALE_NATIVE_FILE_MS * 2,
      now,
    );
    const dir = await mkdtemp(path.join(tmpdir(), 'modelwatch-native-sweep-'));
    dirs.push(dir);
    await writeFile(path.join(dir, 'tiny.csv'), 'a,b\n1,2\n3,4\n');
    const read = await readFileColumns(path.join(dir, 'tiny.csv'), 'csv');
    expect(read.rows).toBe(2);
    expect(await readdir(spool)).not.toContain(stale);
  });

  it('answers 0 for a directory it cannot read', async () => {
    expect(await removeStaleNativeFiles(path.join(tmpdir(), `missing-${randomUUID()}`))).toBe(0);
  });
});
