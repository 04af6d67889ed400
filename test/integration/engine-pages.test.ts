import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDatabase,
  releaseEnginePagesEvery,
  releaseEngineStartupPages,
  type Database,
} from '../../src/platform/clickhouse/index.js';
import { othersMapEngine } from '../support/engine-library.js';

/**
 * On the real engine: after release, no page of the engine library that only this process maps
 * is resident any more, and the engine goes on writing, merging and reading. (Pages another
 * process also maps, such as a parallel test file's engine, are the kernel's to keep.)
 */

const MB = 1_048_576;
let dataDir: string;
let db: Database;

/** The library's resident pages, by smaps field (Private_Clean: mapped by no other process). */
function enginePages(field: 'Private_Clean' | 'Shared_Clean'): number {
  let inEngine = false;
  let bytes = 0;
  const counted = new RegExp(`^${field}:\\s+(\\d+) kB$`);
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) inEngine = (header[2] ?? '').endsWith('/libchdb.so') && !(header[1] ?? '').includes('w');
    const clean = counted.exec(line);
    if (clean && inEngine) bytes += Number(clean[1]) * 1024;
  }
  return bytes;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'mw-engine-pages-'));
  db = await openDatabase({ url: undefined, cluster: undefined, database: 'pages_test', dataDir });
  await db.client.command({ query: 'CREATE TABLE t (k UInt64, v Float64) ENGINE = MergeTree ORDER BY k' });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')("the engine library's start-up pages", () => {
  it('are handed back, and the engine keeps writing, merging and reading', async () => {
    const privateBefore = enginePages('Private_Clean');
    const sharedBefore = enginePages('Shared_Clean');
    const othersBefore = othersMapEngine();
    const result = await releaseEngineStartupPages();
    if (!result.released) throw new Error(`not released: ${result.reason}`);
    expect(result.mappings).toBeGreaterThanOrEqual(2);
    expect(result.residentBefore).toBeGreaterThan(10 * MB);
    // Everything only this process held went, but for what the engine's own threads touch again
    // meanwhile (2.4 MB and 5.7 MB seen in fresh-clone CI runs on a loaded machine, of the ~100 MB
    // held before), and what a process starting its own engine meanwhile (a parallel test file)
    // began to share. Without the release all of it stays.
    expect(enginePages('Private_Clean')).toBeLessThan(Math.min(8 * MB, result.residentBefore / 4));
    // And the release itself dropped them: unless another process maps the library, whose
    // mapping can make private pages shared between the two readings, and the kernel keeps those
    // (seen once under `npm test`: 8 MB dropped of 110 MB private a moment before).
    const sharedMeanwhile = Math.max(0, enginePages('Shared_Clean') - sharedBefore);
    if (!othersBefore && !othersMapEngine())
      expect(result.residentBefore - result.residentAfter).toBeGreaterThan(
        privateBefore - sharedMeanwhile - 2 * MB,
      );

    for (let part = 0; part < 3; part += 1)
      await db.client.command({
        query: `INSERT INTO t SELECT number, number / 7 FROM numbers(${part * 1000}, 1000)`,
      });
    await db.client.command({ query: 'OPTIMIZE TABLE t FINAL' });
    const rows = await (
      await db.client.query({
        query: 'SELECT count() AS n, sum(k) AS s, countDistinct(_part) AS parts FROM t',
        format: 'JSONEachRow',
      })
    ).json<{ n: number; s: number; parts: number }>();
    expect(rows).toEqual([{ n: 3000, s: (2999 * 3000) / 2, parts: 1 }]);
  });

  it('are released again on a timer once work has brought some back, until stopped', async () => {
    await db.client.command({
      query: 'INSERT INTO t SELECT number, cityHash64(number) / 3 FROM numbers(3000, 5000)',
    });
    await db.client.query({
      query: 'SELECT quantileExact(v), uniqExact(k), groupArray(10)(toString(v)) FROM t',
      format: 'JSONEachRow',
    });
    // Pages only this process maps: the release can take those (another test worker's engine
    // shares some of the library's pages, so fewer are private under `npm test`: 2.5 MB seen).
    const broughtBack = enginePages('Private_Clean');
    expect(broughtBack).toBeGreaterThan(1 * MB);

    const stopReasons: string[] = [];
    const releaser = await releaseEnginePagesEvery(100, (reason) => stopReasons.push(reason));
    if (typeof releaser === 'string') throw new Error(`no releaser: ${releaser}`);
    try {
      await expect.poll(() => releaser.releases, { timeout: 5_000, interval: 20 }).toBeGreaterThanOrEqual(2);
      // Polled while the rounds go on: the engine's background threads can touch pages again
      // between a round and a reading (5 MB once, in a run of this file alone).
      await expect
        .poll(() => enginePages('Private_Clean'), { timeout: 5_000, interval: 50 })
        .toBeLessThan(Math.min(2 * MB, broughtBack / 2));
    } finally {
      releaser.stop();
    }
    expect(stopReasons).toEqual([]);

    const releasesWhenStopped = releaser.releases;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(releaser.releases).toBe(releasesWhenStopped);
  });
});
