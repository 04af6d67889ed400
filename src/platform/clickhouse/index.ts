export { openDatabase, waitForDatabase, assertIdentifier, type Database } from './database.js';
export { migrate, ddlContext, type Migration, type MigrationReport, type DdlContext } from './migrations.js';
