import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = path.resolve('dist/cli/main.js');
const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-cli-pipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('modelwatch writing into a pipe its reader closed early (| head)', () => {
  it('ends quietly with exit 0, without a stack trace', async () => {
    const file = path.join(dir, 'a.csv');
    writeFileSync(file, `x\n${Array.from({ length: 50 }, (_, i) => i).join('\n')}\n`);
    // The HTML report is ~1.2 MB: far more than a pipe holds, so the writes outlive the reader.
    const child = spawn(
      process.execPath,
      [cli, 'drift', '--reference', file, '--current', file, '--format', 'html'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
