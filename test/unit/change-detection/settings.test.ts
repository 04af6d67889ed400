import { describe, expect, it } from 'vitest';
import { requestParameters, requestRange } from '../../../src/change-detection/routes.js';
import { detectInStream } from '../../../src/change-detection/service.js';
import { changeDetectionPolicySchema, detectorOptions } from '../../../src/change-detection/settings.js';

describe('change_detection parameters', () => {
  it('request over policy over River defaults', () => {
    expect(detectorOptions({ threshold: 20, mode: 'up' }, { threshold: 5 })).toEqual({
      minInstances: 30,
      delta: 0.005,
      threshold: 5,
      alpha: 0.9999,
      mode: 'up',
    });
  });

  it.each([
    [{ threshold: 0 }],
    [{ threshold: Infinity }],
    [{ alpha: 0 }],
    [{ alpha: 1.5 }],
    [{ delta: -1 }],
    [{ min_instances: 0 }],
    [{ min_instances: 2.5 }],
    [{ mode: 'sideways' }],
    [{ window: '30s' }],
    [{ window: '400d' }],
    [{ window: 'week' }],
    [{ other: 1 }],
  ])('the policy refuses %j', (policy) => {
    expect(changeDetectionPolicySchema.safeParse(policy).success).toBe(false);
  });

  it('query numbers are read strictly and bounded, naming the parameter', () => {
    expect(requestParameters({ threshold: '20', alpha: '1', min_instances: '5' })).toEqual({
      threshold: 20,
      alpha: 1,
      min_instances: 5,
    });
    expect(requestParameters({ threshold: '2.5e1', delta: '.5', alpha: '+0.5' })).toEqual({
      threshold: 25,
      delta: 0.5,
      alpha: 0.5,
    });
    for (const [query, field] of [
      [{ threshold: '' }, 'querystring/threshold'],
      [{ threshold: ' ' }, 'querystring/threshold'],
      [{ threshold: 'NaN' }, 'querystring/threshold'],
      [{ delta: '1e999' }, 'querystring/delta'],
      [{ alpha: '0' }, 'querystring/alpha'],
      // Decimal only: `Number` reads these as 16, 3, 7 and 8.
      [{ min_instances: '0x10' }, 'querystring/min_instances'],
      [{ threshold: '0b11' }, 'querystring/threshold'],
      [{ min_instances: ' 7 ' }, 'querystring/min_instances'],
      [{ threshold: '0o10' }, 'querystring/threshold'],
    ] as const)
      expect(() => requestParameters(query)).toThrow(field);
    expect(() => requestRange({ from: '2026-01-02', to: '2026-01-01' }, 0)).toThrow('querystring/from');
    expect(() => requestRange({ to: 'soon' }, 0)).toThrow('querystring/to');
    expect(requestRange({}, 8 * 86_400_000)).toEqual({ from: 86_400_000, to: 8 * 86_400_000 });
  });
});

describe('detectInStream', () => {
  it('names each detection and gives the mean loss before (since the last start) and after it', () => {
    const loss = [...Array<number>(100).fill(0), ...Array<number>(100).fill(1)];
    const stream = { loss, ts: loss.map((_, i) => i * 1000), ids: loss.map((_, i) => `p${i}`) };
    const found = detectInStream(stream, { threshold: 10, delta: 0, alpha: 1 });
    expect(found.length).toBeGreaterThan(0);
    const first = found[0]!;
    expect(first.prediction_id).toBe(`p${first.index}`);
    expect(first.timestamp).toBe(new Date(first.index * 1000).toISOString());
    // The mean of the values from the start up to the detection, and of those after it until the next.
    const before = loss.slice(0, first.index + 1);
    expect(first.mean_before).toBeCloseTo(before.reduce((s, x) => s + x, 0) / before.length, 12);
    const end = found[1]?.index ?? loss.length - 1;
    const after = loss.slice(first.index + 1, end + 1);
    expect(first.mean_after).toBeCloseTo(after.reduce((s, x) => s + x, 0) / after.length, 12);
  });
});
