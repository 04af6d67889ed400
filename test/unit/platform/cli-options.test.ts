import { describe, expect, it } from 'vitest';
import {
  decimalOption,
  parseOptions,
  positiveWholeOption,
  UsageError,
} from '../../../src/platform/cli/index.js';
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

describe('numeric options', () => {
  it('are read in decimal only: empty, blank, hex and signed text is no number', () => {
    expect([decimalOption('5'), decimalOption('0.3'), decimalOption('1e6'), decimalOption('2.5E-1')]).toEqual(
      [5, 0.3, 1e6, 0.25],
    );
    for (const text of [
      undefined,
      '',
      ' ',
      ' 5',
      '5 ',
      '0x10',
      '0b1',
      '0o7',
      '-1',
      '+1',
      '.5',
      '1.',
      'Infinity',
      'NaN',
    ])
      expect(decimalOption(text), JSON.stringify(text)).toBeNaN();
  });

  it('a whole number above 0 refuses empty, blank and hex text as a usage error', () => {
    expect(positiveWholeOption('rows', undefined, 7, usage)).toBe(7);
    expect(positiveWholeOption('rows', '1000', 7, usage)).toBe(1000);
    expect(positiveWholeOption('rows', '1e3', 7, usage)).toBe(1000);
    for (const text of ['', ' ', '0x10', '1.5', '0'])
      expect(() => positiveWholeOption('rows', text, 7, usage), JSON.stringify(text)).toThrow(
        new UsageError(`--rows must be a whole number above 0, got '${text}'; usage: ${usage}`),
      );
  });
});
