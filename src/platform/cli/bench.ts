import type { Database } from '../clickhouse/index.js';
import type { Config } from '../config/index.js';
import type { CommandContext } from './command.js';
import type { Logger } from '../observability/index.js';

/** A service started by a benchmark: what a benchmark may look at and how to stop it. */
export interface BenchService {
  readonly db: Database;
  /** Resolves once ClickHouse is migrated and the consumers joined their group. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * What the bench command hands a benchmark. Benchmarks that run the whole service get it from
 * here, so no capability imports the composition root (which imports every capability).
 */
export interface BenchContext extends CommandContext {
  startService(options: {
    config: Config;
    logger: Logger;
    brokers: string[];
    port: number;
  }): Promise<BenchService>;
}

/** A benchmark run by `modelwatch bench <name>`; prints its own figures as it goes. */
export interface Bench {
  /** Options after the bench name, e.g. `--rows 1000000`. */
  run(args: string[], context: BenchContext): Promise<void>;
}
