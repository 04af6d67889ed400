import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir, waitFor } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

/**
 * A benchmark stopped by Ctrl-C removes its scratch data: Node ended the process at once, and the
 * `finally` that removes it never ran (hundreds of MB left in the temporary directory, GBs at full size).
 */
describe('a benchmark stopped by a signal', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'on %s while it writes: its scratch dir is removed and it ends by the signal',
    async (signal) => {
      const tmp = tempDir('modelwatch-bench-tmp-');
      const child = spawn(
        process.execPath,
        [cli, 'bench', 'drift', '--rows', '300000', '--features', '10', '--no-offline'],
        { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      onTestFinished(() => void (child.exitCode === null && child.kill('SIGKILL')));
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const scratch = () => readdirSync(tmp).filter((name) => name.startsWith('modelwatch-bench-drift-'));

      await waitFor('the engine writing the generated rows', () =>
        Promise.resolve(stderr.includes('generating reference rows') || undefined),
      );
      expect(scratch()).toHaveLength(1);
      const signalled = Date.now();
      child.kill(signal);
      // Ended by the signal, as Node's default would (a shell reports 130 after a Ctrl-C).
      expect(await exited).toEqual({ code: null, signal });
      expect(Date.now() - signalled).toBeLessThan(10_000);
      expect(scratch()).toEqual([]);
    },
    90_000,
  );
});
