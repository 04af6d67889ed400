import { describe, expect, it } from 'vitest';
import { batchRows } from '../../../src/shadow/feed.js';

const MiB = 1024 * 1024;

describe('shadow batch size (rows within a memory budget)', () => {
  it('fits rows of the challenger’s width into the budget', () => {
    expect(batchRows(32 * MiB, 10)).toBe(Math.floor((32 * MiB) / (320 + 80)));
    expect(batchRows(32 * MiB, 100)).toBe(29_959);
    expect(batchRows(32 * MiB, 1_000)).toBe(4_032);
  });

  it('keeps a batch between 1,000 and 100,000 rows', () => {
    expect(batchRows(1024 * MiB, 1)).toBe(100_000);
    expect(batchRows(32 * MiB, 100_000)).toBe(1_000);
    expect(batchRows(0, 10)).toBe(1_000);
  });

  it('gives fewer rows to wider challengers', () => {
    const widths = [1, 10, 50, 100, 500, 1_000, 5_000];
    const rows = widths.map((f) => batchRows(32 * MiB, f));
    expect(rows).toEqual([...rows].sort((a, b) => b - a));
    expect(new Set(rows).size).toBe(rows.length);
  });
});
