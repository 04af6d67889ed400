import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { childFailure, runAllBenches, runChild } from '../../../src/cli/commands/bench-all.js';

/** A child that prints progress on stderr and figures on stdout, a little at a time, then fails. */
const child = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.stderr.write('producing…\\n');
await sleep(50);
process.stdout.write('rate: 5 events/s\\n');
process.stderr.write('x'.repeat(20000) + '\\n');
process.stderr.write('the broker went away\\n');
process.exitCode = 3;
`;

describe('modelwatch bench (all): each benchmark in a child process', () => {
  it("shows the child's progress and figures as they come, keeps its stdout, and the tail of its stderr", async () => {
    const shown: string[] = [];
    let progressShownBeforeTheEnd = false;
    const result = await runChild(['--input-type=module', '-e', child], {
      write: (text: string) => {
        shown.push(text);
        if (text.includes('rate: 5 events/s'))
          progressShownBeforeTheEnd = shown.join('').includes('producing…');
      },
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('rate: 5 events/s\n');
    // The child's stderr reached the parent's stderr, in the order printed.
    expect(progressShownBeforeTheEnd).toBe(true);
    expect(shown.join('')).toContain('the broker went away\n');
    // Only a tail is kept, ending with the last line.
    expect(result.stderrTail.length).toBeLessThanOrEqual(8_192);
    expect(result.stderrTail.endsWith('the broker went away\n')).toBe(true);
    expect(childFailure(result.code, result.stderrTail)).toBe('exit 3: the broker went away');
  });

  it('says only the exit code of a child that printed nothing on stderr', () => {
    expect(childFailure(1, '')).toBe('exit 1');
    expect(childFailure(null, '\n  \n')).toBe('exit null');
  });

  it('lists a registered benchmark without options or a parser as failed, and does not run it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'modelwatch-bench-all-'));
    const printed = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const out = path.join(dir, 'report.json');
      expect(await runAllBenches(out, ['new-bench'])).toBe(1);
      const report = JSON.parse(readFileSync(out, 'utf8')) as { failed: unknown[]; runs: unknown[] };
      expect(report.runs).toEqual([]);
      expect(report.failed).toEqual([
        {
          bench: 'new-bench',
          error: 'not run: no options or parser in src/cli/commands/bench-figures.ts',
        },
      ]);
      expect(printed.mock.calls.join('')).toContain('new-bench: FAILED — not run');
    } finally {
      printed.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
