import { afterEach, describe, expect, it, vi } from 'vitest';
import { inferenceBench } from '../../../src/inference/bench.js';

describe('bench inference', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints rows/s for objects, row-major and column-major batches', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    await inferenceBench.run(['--rows', '2000', '--repeat', '1']);
    expect(lines[0]).toMatch(/10 features, 2,000 rows per batch/);
    expect(lines.slice(1).map((l) => l.trim().split(/\s{2,}/)[0])).toEqual([
      'objects',
      'row-major Float32Array',
      'column-major Float32Array',
    ]);
    expect(lines.slice(1).every((l) => /[\d,]+ rows\/s/.test(l))).toBe(true);
  });

  it('refuses bad options with the usage', async () => {
    await expect(inferenceBench.run(['--rows', '0'])).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('--rows must be') as string,
    });
    await expect(inferenceBench.run(['--nope'])).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('usage:') as string,
    });
  });
});
