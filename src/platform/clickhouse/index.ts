// The engine pool (and with it chdb's 566 MB libchdb.so) is loaded only when an embedded engine is
// opened (database.ts); a service on a ClickHouse server never loads it.
export type { EmbeddedOptions } from './engine-pool.js';
export { EngineBusyError } from './slot-queue.js';
export {
  openDatabase,
  waitForDatabase,
  ENGINE_MARKS,
  assertIdentifier,
  type Database,
  type InsertOptions,
} from './database.js';
export {
  migrate,
  ddlContext,
  type GuardedStatement,
  type Migration,
  type MigrationReport,
  type DdlContext,
} from './migrations.js';
export {
  releaseEngineStartupPages,
  releaseEnginePagesEvery,
  type PageRelease,
  type PageReleaser,
} from './engine-pages.js';
export { fewerMerges, FEWER_MERGES_BASE } from './merge-settings.js';
export { RowBinaryWriter, joinRows, varUIntBytes, writeVarUInt } from './row-binary.js';
export {
  classifyWriteError,
  clickhouseCode,
  isDataError,
  isQueryMemoryLimit,
  isTimeLimit,
} from './errors.js';
