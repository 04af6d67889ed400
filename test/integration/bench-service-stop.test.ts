import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

const benchService = pathToFileURL(path.resolve('dist/collectors/bench-service.js')).href;

/** A parent that starts a child tied to it by `stopWithParent`, prints the child's pid, then idles (or exits). */
function parent(then: 'idle' | 'exit') {
  const script = `
    import { spawn } from 'node:child_process';
    import { stopWithParent } from ${JSON.stringify(benchService)};
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    stopWithParent(child);
    process.stdout.write(child.pid + '\\n');
    ${then === 'idle' ? 'setInterval(() => {}, 1000);' : 'setTimeout(() => process.exit(0), 200);'}`;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => void proc.kill('SIGKILL'));
  const childPid = new Promise<number>((resolve) =>
    proc.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, childPid, exited };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

describe("a benchmark's service process ends with the benchmark", () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('when the benchmark is stopped by %s', async (signal) => {
    const { proc, childPid, exited } = parent('idle');
    const pid = await childPid;
    onTestFinished(() => void (alive(pid) && process.kill(pid, 'SIGKILL')));
    expect(alive(pid)).toBe(true);
    proc.kill(signal);
    // The benchmark still ends by the signal (raised again after the child was told).
    expect(await exited).toEqual({ code: null, signal });
    expect(await goneWithin(pid, 5_000)).toBe(true);
  });

  it('when the benchmark exits', async () => {
    const { childPid, exited } = parent('exit');
    const pid = await childPid;
    onTestFinished(() => void (alive(pid) && process.kill(pid, 'SIGKILL')));
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await goneWithin(pid, 5_000)).toBe(true);
  });
});
