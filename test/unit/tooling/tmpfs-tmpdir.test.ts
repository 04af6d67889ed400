import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useTmpfsForTemporaryFiles } from '../../support/tmpfs-tmpdir.js';

const shm = '/dev/shm';
const onTmpfs = existsSync(shm) && statfsSync(shm).type === 0x01021994;

describe.runIf(onTmpfs)('useTmpfsForTemporaryFiles', () => {
  const saved = process.env['TMPDIR'];
  afterEach(() => {
    if (saved === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = saved;
  });

  it('leaves a TMPDIR that is set alone, and a tmpfs without the room asked', () => {
    process.env['TMPDIR'] = '/somewhere';
    expect(useTmpfsForTemporaryFiles(shm)).toBeUndefined();
    expect(process.env['TMPDIR']).toBe('/somewhere');
    delete process.env['TMPDIR'];
    expect(useTmpfsForTemporaryFiles(shm, Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(process.env['TMPDIR']).toBeUndefined();
  });

  it('removes the directories of runs whose process is gone and keeps the others', () => {
    const root = mkdtempSync(path.join(shm, 'tmpfs-test-'));
    try {
      const gone = spawnSync(process.execPath, [
        '-e',
        'process.stdout.write(String(process.pid))',
      ]).stdout.toString();
      const orphan = path.join(root, `mw-test-${gone}-abc`);
      const running = path.join(root, `mw-test-${process.pid}-def`);
      for (const dir of [orphan, running]) mkdirSync(dir);
      delete process.env['TMPDIR'];
      const dir = useTmpfsForTemporaryFiles(root, 0);
      expect(dir?.startsWith(path.join(root, `mw-test-${process.pid}-`))).toBe(true);
      expect(process.env['TMPDIR']).toBe(dir);
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(running)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
