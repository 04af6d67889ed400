import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../src/metrics/bench.js';

describe('bench metrics options', () => {
  it('takes a data directory to keep, and whether to optimize', () => {
    const options = parseOptions(['--rows', '1000', '--data-dir', '/tmp/x', '--optimize', '0']);
    expect(options).toMatchObject({ rows: 1000, dataDir: '/tmp/x', optimize: false });
    expect(parseOptions([])).toMatchObject({ rows: 10_000_000, dataDir: undefined, optimize: true });
  });

  it.each([
    ['--data-dir', ''],
    ['--data-dir', 'x'.repeat(5000)],
    ['--optimize', '2'],
    ['--optimize', 'yes'],
    ['--rows', '-1'],
    ['--rows', '1e999'],
    ['--rows', '1.5'],
    ['--warm', 'NaN'],
  ])('refuses %s %j, naming the option', (name, value) => {
    expect(() => parseOptions([name, value])).toThrow(`bad option ${name}`);
  });

  it('refuses an option without its value', () => {
    expect(() => parseOptions(['--data-dir'])).toThrow('bad option --data-dir');
  });
});
