/** The embedded engine for a test file: opened and migrated before its tests, closed after. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { migrate, openDatabase, type Database, type Migration } from '../../src/platform/clickhouse/index.js';

/**
 * Opens database `name` in a temporary data dir before the file's tests, applies `migrations`,
 * hands it to `use`, and closes and removes it after them.
 */
export function useMigratedEngine(
  name: string,
  migrations: readonly Migration[],
  use: (db: Database) => void,
): void {
  let db: Database | undefined;
  let dataDir: string | undefined;
  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), `modelwatch-${name}-`));
    db = await openDatabase({ url: undefined, cluster: undefined, database: name, dataDir });
    await migrate(db, migrations);
    use(db);
  });
  afterAll(async () => {
    await db?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
}
