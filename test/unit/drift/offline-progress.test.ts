import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchProgress } from '../../../src/drift/offline/file-read.js';
import type { Database } from '../../../src/platform/clickhouse/index.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the offline progress poll', () => {
  it('cancels its pending wait when stopped, so a short run exits as soon as it has printed', async () => {
    vi.useFakeTimers();
    // Never queried: the poll stops before its first wait ends.
    const stop = watchProgress({} as Database, 'query-id', 1, () => undefined);
    await Promise.resolve();
    expect(vi.getTimerCount()).toBe(1);
    stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
