import { describe, expect, it } from 'vitest';
import { longestFirst } from '../../support/longest-first.js';

const file = (project: string, name: string) => ({ project, name });

describe('the test files ordered longest first', () => {
  it('moves the files of known length to the front of their project, longest first', () => {
    const sorted = [
      file('integration', 'a'),
      file('integration', 'b'),
      file('integration', 'c'),
      file('integration', 'd'),
      file('unit', 'e'),
      file('unit', 'f'),
    ];
    const seconds: Record<string, number> = { c: 30, d: 80, f: 5 };
    const names = longestFirst(sorted, (spec) => seconds[spec.name]).map((spec) => spec.name);
    expect(names).toEqual(['d', 'c', 'a', 'b', 'f', 'e']);
  });

  it("keeps Vitest's order where no length is known", () => {
    const sorted = [file('p', 'x'), file('q', 'y'), file('p', 'z')];
    expect(longestFirst(sorted, () => undefined)).toEqual(sorted);
  });
});
