import { describe, expect, it } from 'vitest';
import { decodeShadowInput } from '../../../src/shadow/decode.js';
import { encodeInputs } from '../../../src/shadow/encode.js';

const event = (overrides: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      prediction_id: 'p1',
      model_id: 'm',
      model_version: 1,
      timestamp: '2026-01-01T00:00:00Z',
      features: { a: 1 },
      prediction: true,
      score: 0.7,
      ...overrides,
    }),
  );
const all = () => true;
/** The collectors' limits with a 1,000-byte message cap, at a fixed ingest time. */
const LIMITS = {
  maxMessageBytes: 1000,
  maxFeatures: 3,
  maxFeatureNameLength: 8,
  maxFutureSkewMs: 86_400_000,
  now: () => Date.UTC(2026, 0, 1),
};

describe('decodeShadowInput', () => {
  it('reads what scoring needs, booleans as their numeric class', () => {
    expect(decodeShadowInput(event(), LIMITS, all)).toEqual({
      model: 'm',
      version: '1',
      id: 'p1',
      time: Date.UTC(2026, 0, 1),
      features: { a: 1 },
      prediction: '1',
      score: 0.7,
    });
  });

  it('skips what the collectors would refuse, and models without challengers', () => {
    const hostile: [string, Buffer | null][] = [
      ['empty', Buffer.alloc(0)],
      ['null', null],
      ['not JSON', Buffer.from('{')],
      ['an array', Buffer.from('[1]')],
      ['oversize', Buffer.from(JSON.stringify({ model_id: 'm', pad: 'x'.repeat(2000) }))],
      ['far future', event({ timestamp: '2400-01-01T00:00:00Z' })],
      ['no id', event({ prediction_id: '' })],
      ['id too long', event({ prediction_id: 'x'.repeat(513) })],
      ['features an array', event({ features: [1, 2] })],
      ['score a string', event({ score: '0.5' })],
      ['prediction an object', event({ prediction: { a: 1 } })],
    ];
    for (const [what, bytes] of hostile) expect(decodeShadowInput(bytes, LIMITS, all), what).toBeUndefined();
    expect(decodeShadowInput(event(), LIMITS, (m) => m !== 'm')).toBeUndefined();
  });
});

describe("decodeShadowInput applies the collectors' limits", () => {
  it('skips too many features, a too long feature name and a time past the allowed skew', () => {
    const over: [string, Buffer][] = [
      ['4 features (limit 3)', event({ features: { a: 1, b: 2, c: 3, d: 4 } })],
      ['a 9-character name (limit 8)', event({ features: { abcdefghi: 1 } })],
      ['a day and a second ahead', event({ timestamp: Date.UTC(2026, 0, 2) + 1000 })],
      [
        '10,000 columns',
        event({ features: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`f${i}`, i])) }),
      ],
    ];
    const roomy = { ...LIMITS, maxMessageBytes: 1_000_000 };
    for (const [what, bytes] of over) expect(decodeShadowInput(bytes, roomy, all), what).toBeUndefined();
  });

  it('keeps events at the limits', () => {
    const at = event({ features: { a: 1, b: 2, abcdefgh: 3 }, timestamp: Date.UTC(2026, 0, 2) });
    expect(decodeShadowInput(at, LIMITS, all)?.features).toEqual({ a: 1, b: 2, abcdefgh: 3 });
  });

  it('reads nothing while no model has challengers', () => {
    expect(decodeShadowInput(event(), LIMITS, all, false)).toBeUndefined();
  });
});

describe('encodeInputs', () => {
  it("writes row-major float32 in the challenger's column order, categories as indices", () => {
    const columns = [
      { name: 'b', type: 'number' as const },
      { name: 'c', type: 'string' as const, categories: ['x', 'y'] },
    ];
    const { values, refused } = encodeInputs(
      [{ features: { c: 'y', b: 2.5 } }, { features: { b: 1, c: 'z' } }],
      columns,
    );
    expect([...values]).toEqual([2.5, 1, 1, -1]);
    expect(refused.size).toBe(0);
  });

  it('refuses missing and wrong-typed values with the core’s reasons, first problem per row', () => {
    const columns = [
      { name: 'a', type: 'number' as const },
      { name: 'b', type: 'number' as const },
    ];
    const { refused } = encodeInputs(
      [
        { features: { a: 1, b: 2 } },
        { features: { b: 2 } },
        { features: { a: null, b: '2' } },
        { features: { a: '1', b: null } },
        { features: { a: true, b: 1 } },
      ],
      columns,
    );
    expect([...refused]).toEqual([
      [1, 'missing'],
      [2, 'missing'],
      [3, 'wrong_type'],
      [4, 'wrong_type'],
    ]);
  });
});
