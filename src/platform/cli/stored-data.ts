import { existsSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseConfig } from '../config/index.js';
import { ModelwatchError } from '../errors.js';

/**
 * Refuses, before the engine opens, a command that reads what a service stored (`audit verify`,
 * `keys list`, `keys revoke`) when the embedded engine's directory holds no such database: opening
 * it there created an empty store, which the command then reported as verified or as holding no
 * keys, so a wrong MODELWATCH_DATA_DIR or working directory went unnoticed. A ClickHouse server's
 * databases are not looked for here.
 */
export function assertStoredData({ url, dataDir, database }: ClickHouseConfig): void {
  if (url !== undefined) return;
  const engineDir = path.join(dataDir, 'clickhouse');
  // The embedded engine keeps each database's definition as metadata/<name>.sql.
  if (existsSync(path.join(engineDir, 'metadata', `${database}.sql`))) return;
  throw new ModelwatchError(
    'CONFIG_INVALID',
    existsSync(engineDir)
      ? `no modelwatch database '${database}' at ${dataDir}; set MODELWATCH_DATA_DIR or MODELWATCH_CLICKHOUSE_DATABASE`
      : `no modelwatch data at ${dataDir}; set MODELWATCH_DATA_DIR`,
  );
}
