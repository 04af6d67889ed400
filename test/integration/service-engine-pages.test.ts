import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startService } from '../../src/service/index.js';
import { loadConfig } from '../../src/platform/config/index.js';
import { othersMapEngine } from '../support/engine-library.js';
import { isolatedEnv } from '../support/harness.js';

/**
 * The service's side of engine-pages.ts (which engine-pages.test.ts checks on the engine): once
 * up, it releases the engine library's start-up pages and says so, unless configured not to.
 */

const RELEASED = "released the engine library's start-up pages";

/** Starts the whole service with the given environment, waits until ready, and returns its log. */
async function startupLog(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  // Not isolatedConfig: it turns the release off for the other tests' speed.
  const config = loadConfig(isolatedEnv(env));
  const service = await startService({ config, logger, brokers: config.kafka.brokers ?? [], port: 0 });
  try {
    await service.ready;
    return lines;
  } finally {
    await service.close();
  }
}

describe.runIf(process.platform === 'linux')("the service and the engine library's start-up pages", () => {
  it('releases them once ready, by default, and logs the resident size before and after', async () => {
    const log = await startupLog({});
    const released = log.filter((line) => line['msg'] === RELEASED);
    expect(released).toHaveLength(1);
    const [{ resident_mb_before: before, resident_mb_after: after } = {}] = released;
    expect(before).toBeGreaterThan(10);
    // Most go (199 → 19 MB here), unless another process maps the library: the kernel keeps the
    // pages both map (a test file beside this one once left 200 of 199 MB).
    if (!othersMapEngine()) expect(after).toBeLessThan((before as number) / 2);
    // Released before the service calls itself ready, so a ready service is already smaller.
    const readyAt = log.findIndex((line) => line['msg'] === 'modelwatch is ready');
    expect(readyAt).toBeGreaterThan(log.indexOf(released[0] as Record<string, unknown>));
  });

  it('keeps them with MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES=false', async () => {
    const log = await startupLog({ MODELWATCH_CLICKHOUSE_RELEASE_STARTUP_PAGES: 'false' });
    expect(log.some((line) => line['msg'] === 'modelwatch is ready')).toBe(true);
    expect(log.filter((line) => String(line['msg']).includes('start-up pages'))).toEqual([]);
  });
});
