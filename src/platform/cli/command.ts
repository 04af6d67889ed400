import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Migration } from '../clickhouse/index.js';
import { ModelwatchError, UsageRequested } from '../errors.js';

/** What the CLI hands a command: what only the composition root knows. */
export interface CommandContext {
  /** Every capability's migrations, for commands that open a database. */
  migrations: readonly Migration[];
}

/** A CLI command; its one-line summary is declared where it is listed. */
export interface Command {
  /** Returns the exit code; throws for errors (printed as one line). */
  run(args: string[], context: CommandContext): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** parseArgs with errors as one line naming the option. */
export function parseOptions<O extends Options>(args: string[], options: O, usage: string) {
  if (asksForHelp(args)) throw new UsageRequested(`usage: ${usage}`);
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ModelwatchError(
      'BAD_REQUEST',
      `${err instanceof Error ? err.message : String(err)}\nusage: ${usage}`,
    );
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
