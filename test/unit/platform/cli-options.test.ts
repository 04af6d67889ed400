import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../src/platform/cli/index.js';
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
    expect(parseOptions(['--', '--help'], options, usage).positionals).toEqual(['--help']);
    expect(() => parseOptions(['--rows', '--help'], options, usage)).toThrow(UsageRequested);
  });

  it('names an unknown option and gives the usage', () => {
    expect(() => parseOptions(['--nope'], options, usage)).toThrow(
      /Unknown option '--nope'[\s\S]*usage: modelwatch thing/,
    );
  });
});
