import { describe, expect, it } from 'vitest';
import { isModelwatchError } from '../../../src/platform/errors.js';
import { StatusLine } from '../../../src/platform/observability/index.js';
import {
  DEFAULT_SEED,
  DEFAULT_SPEED,
  parseStoryOptions,
  progressText,
} from '../../../src/simulator/index.js';

describe("up's simulator options", () => {
  it('defaults, and takes good values', () => {
    expect(parseStoryOptions({})).toEqual({ enabled: true, speed: DEFAULT_SPEED, seed: DEFAULT_SEED });
    expect(parseStoryOptions({ 'no-simulator': true, speed: '3600', seed: '0' })).toEqual({
      enabled: false,
      speed: 3600,
      seed: 0,
    });
    expect(parseStoryOptions({ speed: '2.5e6', seed: '4294967295' })).toMatchObject({
      speed: 2.5e6,
      seed: 4294967295,
    });
  });

  it.each([
    ['speed', 'NaN'],
    ['speed', '-5'],
    ['speed', '0'],
    ['speed', '1e999'],
    ['speed', 'fast'],
    ['speed', ''],
    ['speed', ' '],
    ['speed', '0x10'],
    ['speed', ' 5'],
    ['speed', '+5'],
    ['speed', '1'.repeat(10_000)],
    ['seed', '1.5'],
    ['seed', '-3'],
    ['seed', '4294967296'],
    ['seed', '0x10'],
    ['seed', ''],
  ])('refuses --%s %j with a configuration error naming the option', (option, value) => {
    let caught: unknown;
    try {
      parseStoryOptions({ [option]: value });
    } catch (err) {
      caught = err;
    }
    expect(isModelwatchError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(new RegExp(`^--${option}: `));
    expect((caught as Error).message.length).toBeLessThan(200 + value.length);
  });
});

describe('the progress line', () => {
  it('says the simulated date, what was published and ingested, drift and triggers', () => {
    expect(
      progressText(
        Date.UTC(2021, 6, 4, 13),
        { predictions: 6_500, labels: 6_300, access: 800 },
        { ingested: 13_000, drifted: ['Latitude', 'Longitude'], triggers: 1 },
      ),
    ).toBe(
      'simulated 2021-07-04 · published 13,600 (6,500 predictions) · ingested 13,000 · drift Latitude, Longitude · triggers 1',
    );
  });

  it('says drift is not measured before the first month after the reference period, not "none"', () => {
    const observed = { ingested: 0, drifted: undefined, triggers: 0 };
    expect(progressText(Date.UTC(2021, 2, 1), { predictions: 0, labels: 0, access: 0 }, observed)).toContain(
      ' · drift not measured yet · ',
    );
  });

  it('redraws in place on a terminal, with log lines above it', () => {
    const written: string[] = [];
    const line = new StatusLine({ isTTY: true, write: (t: string) => written.push(t) });
    line.update('one');
    line.above('a log line\n');
    line.update('two');
    line.done();
    expect(written).toEqual(['\r\x1b[Kone', '\r\x1b[Ka log line\none', '\r\x1b[Ktwo', '\n']);
  });

  it('prints a plain line at most every interval elsewhere', () => {
    let now = 0;
    const written: string[] = [];
    const line = new StatusLine({ write: (t: string) => written.push(t) }, 5_000, () => now);
    line.update('a');
    now = 1_000;
    line.update('b');
    line.above('log\n');
    now = 5_000;
    line.update('c');
    now = 5_500;
    line.update('d', true);
    expect(written).toEqual(['a\n', 'log\n', 'c\n', 'd\n']);
  });
});
