import { afterEach, describe, expect, it, vi } from 'vitest';
import { inferenceBench } from '../../../src/inference/bench.js';
import type { BenchContext } from '../../../src/platform/cli/index.js';

/** This benchmark runs no service and opens no database. */
const context: BenchContext = {
  migrations: [],
  startService: () => Promise.reject(new Error('not used by this benchmark')),
};

describe('bench inference', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints rows/s for row-major, column-major and object batches, a short last batch included', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    await inferenceBench.run(['--rows', '2500', '--batch', '1000', '--repeat', '1'], context);
    expect(lines[0]).toMatch(/10 features, 2,500 rows in batches of 1,000/);
    expect(lines.slice(1).map((l) => l.trim().split(/\s{2,}/)[0])).toEqual([
      'row-major Float32Array',
      'column-major Float32Array',
      'objects',
    ]);
    expect(lines.slice(1).every((l) => /[\d,]+ rows\/s/.test(l))).toBe(true);
  });

  it('refuses bad options with the usage', async () => {
    await expect(inferenceBench.run(['--rows', '0'], context)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('--rows must be') as string,
    });
    await expect(inferenceBench.run(['--nope'], context)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('usage:') as string,
    });
  });
});
