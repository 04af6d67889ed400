import { authMigrations } from './auth/keys.js';
import { collectorMigrations } from './collectors/schema.js';
import { driftMigrations } from './drift/store/schema.js';
import type { Migration } from './platform/clickhouse/index.js';

/** Every capability's migrations, in one ordered list (versions are global). */
export const allMigrations: readonly Migration[] = [...collectorMigrations, ...authMigrations, ...driftMigrations].sort((a, b) => a.version - b.version);
