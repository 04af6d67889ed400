import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError } from '../../../src/platform/cli/index.js';
import { UsageRequested } from '../../../src/platform/errors.js';

const usage = 'modelwatch thing [--rows N]';
const options = { rows: { type: 'string' } } as const;

describe('parseOptions', () => {
  it('answers --help and -h with the usage, wherever they stand before --', () => {
    for (const args of [['--help'], ['-h'], ['--rows', '5', '--help'], ['pos', '-h']]) {
      let thrown: unknown;
      try {
        parseOptions(args, options, usage);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, args.join(' ')).toBeInstanceOf(UsageRequested);
      expect((thrown as UsageRequested).usage).toBe(`usage: ${usage}`);
    }
  });

  it('takes --help after -- as a positional, and as a request for usage even where a value was due', () => {
    expect(parseOptions(['--', '--help'], options, usage, { allowPositionals: true }).positionals).toEqual([
      '--help',
    ]);
    expect(() => parseOptions(['--rows', '--help'], options, usage)).toThrow(UsageRequested);
  });

  it('names an unknown option and gives the usage, on one line, as a usage error (exit 2)', () => {
    expect(() => parseOptions(['--nope'], options, usage)).toThrow(UsageError);
    expect(() => parseOptions(['--nope'], options, usage)).toThrow(
      /^Unknown option '--nope'.*; usage: modelwatch thing \[--rows N\]$/,
    );
  });

  it('puts the messages parseArgs spreads over lines on one', () => {
    for (const args of [['--rows'], ['--rows', '-5']]) {
      let thrown: unknown;
      try {
        parseOptions(args, options, usage);
      } catch (err) {
        thrown = err;
      }
      expect(thrown, args.join(' ')).toBeInstanceOf(UsageError);
      expect((thrown as Error).message, args.join(' ')).not.toContain('\n');
      expect((thrown as Error).message, args.join(' ')).toContain("'--rows");
    }
  });

  it('refuses words besides the options unless the command takes them', () => {
    expect(() => parseOptions(['extra'], options, usage)).toThrow(
      new UsageError("unexpected argument 'extra'; usage: modelwatch thing [--rows N]"),
    );
    expect(() => parseOptions(['--rows', '5', 'extra'], options, usage, { allowPositionals: false })).toThrow(
      UsageError,
    );
    expect(parseOptions(['--rows', '5'], options, usage, { allowPositionals: false }).values).toEqual({
      rows: '5',
    });
    expect(parseOptions(['extra'], options, usage, { allowPositionals: true }).positionals).toEqual([
      'extra',
    ]);
  });
});
