import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

describe('modelwatch kafka', () => {
  it('prints the bootstrap address and nothing from kafkajs on stderr (no TimeoutNegativeWarning), then stops on SIGTERM', async () => {
    expect(existsSync(cli), 'the CLI is built (npm test runs npm run build first)').toBe(true);
    const child = spawn(process.execPath, [cli, 'kafka', '--data-dir', tempDir()], {
      env: { ...process.env, MODELWATCH_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const started = Date.now();
    while (!/^127\.0\.0\.1:\d+$/m.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`modelwatch kafka exited: ${stderr}`);
      if (Date.now() - started > 150_000) throw new Error(`no bootstrap address after 150 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // The warning came from the readiness check's first request, before the address is printed.
    expect(stderr).not.toMatch(/TimeoutNegativeWarning/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/Warning/);
  }, 200_000);
});
