import { describe, expect, it } from 'vitest';
import { bindStatements } from '../../../src/platform/clickhouse/bind-params.js';
import { isModelwatchError } from '../../../src/platform/errors.js';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (err) {
    return isModelwatchError(err) ? err.code : 'not a ModelwatchError';
  }
  return undefined;
}

describe('bindStatements', () => {
  it('binds each parameter as a session parameter, formatted as the HTTP client sends it, then SQL-quoted', () => {
    expect(
      bindStatements('SELECT {a:String}, {b:Int64}, {c:Array(String)}', {
        a: "it's",
        b: -12,
        c: ['x', "y'z"],
      }),
    ).toEqual([
      String.raw`SET param_a = 'it\\\'s'`,
      "SET param_b = '-12'",
      String.raw`SET param_c = '[\'x\',\'y\\\'z\']'`,
    ]);
  });

  it('escapes the characters that could end the literal, and spells out NUL, tab and newline', () => {
    const [statement] = bindStatements('SELECT {s:String}', { s: "a\\b'c\0d\te\nf" });
    // Only the outer quotes remain unescaped: nothing the value holds can close the literal.
    expect(statement).toBe(String.raw`SET param_s = 'a\\\\b\\\'c\0d\\te\\nf'`);
    const body = statement?.slice("SET param_s = '".length, -1) ?? '';
    expect(body.replace(/\\./g, '')).not.toMatch(/['\\\0\n\t]/);
  });

  it('keeps a huge value whole', () => {
    const huge = 'x'.repeat(1_000_000);
    expect(bindStatements('SELECT {s:String}', { s: huge })[0]).toBe(`SET param_s = '${huge}'`);
  });

  it('refuses a placeholder without a value (a session would read the value an earlier query left)', () => {
    expect(codeOf(() => bindStatements('SELECT {a:String}, { b : UInt8 }', { a: 'x' }))).toBe(
      'CLICKHOUSE_QUERY',
    );
    expect(codeOf(() => bindStatements('SELECT {a:String}', undefined))).toBe('CLICKHOUSE_QUERY');
    expect(bindStatements('SELECT 1', undefined)).toEqual([]);
  });

  it('refuses a parameter name that is not an identifier (it becomes part of a SET)', () => {
    expect(codeOf(() => bindStatements('SELECT 1', { 'a = 1; DROP TABLE t; --': 'x' }))).toBe(
      'CLICKHOUSE_QUERY',
    );
    expect(codeOf(() => bindStatements('SELECT 1', { '': 'x' }))).toBe('CLICKHOUSE_QUERY');
  });

  it('sends non-finite numbers as the server spells them, and refuses a value it cannot format', () => {
    expect(bindStatements('SELECT {x:Float64}', { x: Number.POSITIVE_INFINITY })).toEqual([
      "SET param_x = '+inf'",
    ]);
    expect(bindStatements('SELECT {x:Float64}', { x: Number.NaN })).toEqual(["SET param_x = 'nan'"]);
    expect(codeOf(() => bindStatements('SELECT {x:String}', { x: Symbol('s') }))).toBe('CLICKHOUSE_QUERY');
  });
});
