import { describe, expect, it } from 'vitest';
import { loneSurrogateAt } from '../../../src/api/unicode-body.js';

describe('a request body holding a lone surrogate', () => {
  it('is found where it is: a value, an array item or a field name; paired surrogates are text', () => {
    expect(loneSurrogateAt({ reason: 'case \u{1F600} 17', rows: [{ city: 'Zürich' }] })).toBeUndefined();
    expect(loneSurrogateAt({ reason: 'x\ud800' })).toBe('body/reason');
    expect(loneSurrogateAt({ rows: [{ a: 1 }, { city: '\udc00y' }] })).toBe('body/rows/1/city');
    expect(loneSurrogateAt({ rows: [{ ['k\ud83d']: 1 }] })).toBe('body/rows/0 (a field name)');
    expect(loneSurrogateAt('\ud800')).toBe('body');
    expect(loneSurrogateAt(undefined)).toBeUndefined();
  });

  it('walks a body nested far deeper than a call stack allows', () => {
    let deep: unknown = 'end\ud800';
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(loneSurrogateAt(deep)).toMatch(/^body(\/a){100000}$/);
  });
});
