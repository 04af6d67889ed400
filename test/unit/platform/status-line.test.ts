import { describe, expect, it } from 'vitest';
import { StatusLine } from '../../../src/platform/observability/status-line.js';

describe('the progress line off a terminal', () => {
  it('prints at most every interval, a forced line at once, and a forced repeat of the last line not again', () => {
    const written: string[] = [];
    let t = 0;
    const status = new StatusLine({ write: (text: string) => written.push(text) }, 5_000, () => t);
    status.update('a');
    t = 1_000;
    status.update('b');
    status.update('c', true);
    t = 2_000;
    status.update('c', true);
    t = 9_000;
    status.update('d');
    expect(written).toEqual(['a\n', 'c\n', 'd\n']);
  });
});
