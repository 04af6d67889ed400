import { describe, expect, it } from 'vitest';
import { failureText, oneLine } from '../../../src/cli/failure.js';
import { ModelwatchError } from '../../../src/platform/errors.js';

describe('a failed command prints one line (README, "CLI")', () => {
  const multiLine = new ModelwatchError(
    'CLICKHOUSE_QUERY',
    'migration 3 failed: Code: 62. Syntax error in\n  CREATE TABLE x (\n    a UInt8\n  )\nStack trace:\n0. DB::Exception',
  );

  it('folds a message over several lines into one', () => {
    const text = failureText(multiLine, false);
    expect(text).toBe(
      'modelwatch: migration 3 failed: Code: 62. Syntax error in CREATE TABLE x ( a UInt8 ) Stack trace: 0. DB::Exception\n',
    );
    expect(text.trimEnd()).not.toContain('\n');
    expect(failureText('plain\r\ntext', false)).toBe('modelwatch: plain text\n');
  });

  it('shortens a very long one, naming MODELWATCH_DEBUG', () => {
    const line = oneLine('x'.repeat(5_000));
    expect(line.length).toBeLessThan(1_100);
    expect(line).toMatch(/… \(MODELWATCH_DEBUG=1 prints all of it\)$/);
  });

  it('adds the whole message, the stack and the causes with MODELWATCH_DEBUG', () => {
    const err = new ModelwatchError('CLICKHOUSE_UNAVAILABLE', 'outer\nsecond line', true, {
      cause: new Error('inner'),
    });
    const text = failureText(err, true);
    const [first, ...rest] = text.split('\n');
    expect(first).toBe('modelwatch: outer second line');
    expect(rest.join('\n')).toContain('ModelwatchError: outer\nsecond line\n    at ');
    expect(rest.join('\n')).toContain('caused by: Error: inner\n    at ');
  });
});
