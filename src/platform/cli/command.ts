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

/** A mistake in the command line: one line on stderr and exit code 2 (README, "CLI"). */
export class UsageError extends ModelwatchError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'UsageError';
  }
}

/** The exit code of a command's error (README): 2 for configuration and usage, 1 otherwise. */
export function exitCodeFor(err: unknown): 1 | 2 {
  return err instanceof UsageError || (err instanceof ModelwatchError && err.code === 'CONFIG_INVALID')
    ? 2
    : 1;
}

/**
 * parseArgs with errors as one line naming the option, then the usage. Words besides the options
 * are refused (`serve extra`, `bench drift extra`) unless the command takes them and passes
 * `allowPositionals: true` (`keys revoke ID`).
 */
export function parseOptions<O extends Options>(
  args: string[],
  options: O,
  usage: string,
  { allowPositionals = false }: { allowPositionals?: boolean } = {},
) {
  if (asksForHelp(args)) throw new UsageRequested(`usage: ${usage}`);
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Some of parseArgs' messages span lines ("ambiguous… Did you forget…").
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
    throw new UsageError(`${message}; usage: ${usage}`);
  }
  if (!allowPositionals && parsed.positionals.length > 0)
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'; usage: ${usage}`);
  return parsed;
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

/** A number as a person types it on a command line: digits, a fraction, an exponent (`5`, `0.3`, `1e6`). */
const DECIMAL = /^\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * The number an option's text spells in decimal, or NaN for anything else: `Number()` alone read
 * '' and ' ' as 0 (an option given no value ran with 0: no labels, no warm-up, "unbounded") and
 * '0x10' as 16. Checks of range (`>= 0`, `Number.isInteger`) then refuse NaN.
 */
export function decimalOption(text: string | undefined): number {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : Number.NaN;
}

/** A whole-number option above 0 (`--rows 1000`), its fallback when absent; anything else is a usage error. */
export function positiveWholeOption(
  name: string,
  value: string | undefined,
  fallback: number,
  usage: string,
): number {
  if (value === undefined) return fallback;
  const n = decimalOption(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a whole number above 0, got '${value}'; usage: ${usage}`);
  return n;
}
