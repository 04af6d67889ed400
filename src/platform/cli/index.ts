/** What CLI commands and benchmarks are, for capabilities to declare theirs without importing the CLI. */
export {
  decimalOption,
  exitCodeFor,
  parseOptions,
  positiveWholeOption,
  untilSignal,
  UsageError,
  type Command,
  type CommandContext,
} from './command.js';
export type { Bench, BenchContext, BenchService } from './bench.js';
export { localServiceBase, serviceHolding, serviceRequest } from './local-service.js';
export {
  benchConfig,
  withBenchEnvironment,
  type BenchEnvironment,
  type BenchRun,
} from './bench-environment.js';
export { BROKER_LOCK_FILE, lockDataDir, refuseIfHeld } from './data-dir-lock.js';
export { assertStoredData } from './stored-data.js';
export { cleanUpOnSignal, scratchDir } from './interrupt.js';
export { CLI_PRINCIPAL, queueAuditChange, type CommandChange } from './audit-outbox.js';
