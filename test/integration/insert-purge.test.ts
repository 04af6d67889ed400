import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/clickhouse/index.js';
import type { Logger } from '../../src/platform/observability/index.js';

/**
 * The embedded engine's memory purge (`SYSTEM JEMALLOC PURGE`) runs after an insert succeeded:
 * its failure must not fail the insert, or the collectors retry the batch and store it again.
 */

let dataDir: string;
let db: Database;
const warnings: string[] = [];
const logger = { warn: (_: unknown, message: string) => warnings.push(message) } as unknown as Logger;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'modelwatch-purge-'));
  db = await openDatabase(
    { url: undefined, cluster: undefined, database: 'purge_test', dataDir },
    { logger },
  );
  await db.client.command({ query: 'CREATE TABLE numbers_in (n UInt32) ENGINE = MergeTree ORDER BY n' });
});

afterAll(async () => {
  await db.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('insert on the embedded engine', () => {
  it('stands when the memory purge after it fails: the failure is logged', async () => {
    const command = db.client.command.bind(db.client);
    db.client.command = (params) =>
      params.query === 'SYSTEM JEMALLOC PURGE'
        ? Promise.reject(new Error('Code: 1. DB::Exception: purge refused'))
        : command(params);

    await db.insertJsonEachRow('numbers_in', Buffer.from('{"n":1}\n{"n":2}'), { structure: 'n UInt32' });

    const result = await db.client.query({
      query: 'SELECT count() AS n FROM numbers_in',
      format: 'JSONEachRow',
    });
    expect(await result.json()).toEqual([{ n: 2 }]);
    expect(warnings).toEqual(['SYSTEM JEMALLOC PURGE failed after an insert; the insert stands']);
  });
});
