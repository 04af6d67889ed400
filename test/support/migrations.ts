import { allMigrations as migrationsOf } from '../../src/platform/capability/index.js';
import { capabilities } from '../../src/service/index.js';

/** Every migration of the service's capabilities, as `migrate` and the service apply them. */
export const allMigrations = migrationsOf(capabilities);
