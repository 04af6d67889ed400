import { spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isolatedEnv, tempDir, waitFor } from '../support/harness.js';

const cli = path.resolve('dist/cli/main.js');

/** The processes below `pid` (children, theirs, …), from `ps`. */
function descendants(pid: number): number[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of ps.stdout.trim().split('\n')) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child === undefined || parent === undefined) continue;
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      visit(c);
    }
  };
  visit(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('modelwatch bench (all) stopped by a signal', () => {
  it('stops the running benchmark, which removes its scratch data, before it ends (regression: the benchmark ran on alone)', async () => {
    // The benchmarks' scratch dirs go into the temporary directory: this one, to look into.
    const tmp = tempDir('modelwatch-bench-signal-');
    const child = spawn(process.execPath, [cli, 'bench', '--out', path.join(tmp, 'report.json')], {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        ...isolatedEnv({ TMPDIR: tmp }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const below: number[] = [];
    onTestFinished(() => {
      for (const pid of [child.pid ?? 0, ...below]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });

    // The first benchmark has started in its process, with its scratch dir.
    await waitFor(
      'the first benchmark running',
      () => {
        if (child.exitCode !== null) throw new Error(`modelwatch bench exited: ${stderr.slice(-2000)}`);
        const scratch = readdirSync(tmp).filter((name) => name.startsWith('modelwatch-bench-'));
        return Promise.resolve(stderr.includes('\n== bench ') && scratch.length > 0 ? true : undefined);
      },
      60_000,
    );
    below.push(...descendants(child.pid!));
    expect(below.length).toBeGreaterThan(0);

    child.kill('SIGTERM');
    expect(await exited, stderr.slice(-2000)).toBe('SIGTERM');
    // Gone when it ended, and their scratch data with them.
    expect(below.filter(alive)).toEqual([]);
    expect(readdirSync(tmp).filter((name) => name.startsWith('modelwatch-bench-'))).toEqual([]);
  }, 120_000);
});
