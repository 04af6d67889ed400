import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accessLogEvent,
  labelEvent,
  MAX_EVENT_TIME,
  MIN_EVENT_TIME,
  predictionEvent,
} from '../../../src/collectors/events.js';
import { checkAccessEvent, checkLabel, checkPrediction } from '../../../src/collectors/validation.js';

/** Numbers a producer (or `1e999` in JSON) can send, weighted to the edges. */
const hostileNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    -0,
    0,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc.constantFrom(2 ** 53, -(2 ** 53), 1e300, -1e300),
  fc.integer(),
);

/** Strings at the length limits in UTF-16 units and in code points (an emoji is 2 units, 1 code point). */
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '\u0000', '\ud800', '2026-11-25T10:00:00Z'),
  fc.integer({ min: 250, max: 260 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 505, max: 515 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 250, max: 260 }).map((n) => '😀'.repeat(n)),
  fc.integer({ min: 1020, max: 1030 }).map((n) => 'y'.repeat(n)),
);

const edgeTimes = [MIN_EVENT_TIME, MAX_EVENT_TIME];
/** Event times at and around the range DateTime64(3) holds, as numbers and ISO text. */
const hostileTime = fc.oneof(
  fc.constantFrom(...edgeTimes.flatMap((t) => [t - 1, t, t + 1, t - 0.5, t + 0.5, t + 0.999])),
  fc.constantFrom(
    '1900-01-01T00:00:00.000Z',
    '1899-12-31T23:59:59.999Z',
    '2299-12-31T23:59:59.999Z',
    '2300-01-01T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '2026-02-30',
    'not a date',
  ),
  fc.integer({ min: MIN_EVENT_TIME - 10 ** 9, max: MAX_EVENT_TIME + 10 ** 9 }),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  hostileNumber,
);

const anyValue = fc.oneof(
  hostileNumber,
  hostileString,
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant([]),
  fc.constant({}),
);

/** A valid event with some fields replaced by hostile values (or removed). */
function mutated(base: Record<string, unknown>, fields: Record<string, fc.Arbitrary<unknown>>) {
  const patch = fc.record(
    Object.fromEntries(
      Object.entries(fields).map(([name, arb]) => [
        name,
        fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: anyValue }),
      ]),
    ),
    { requiredKeys: [] },
  );
  return patch.map((p) => ({ ...base, ...p }));
}

const features = fc.dictionary(
  hostileString,
  fc.oneof(hostileNumber, hostileString, fc.boolean(), fc.constant(null), fc.constant({ a: 1 })),
  {
    maxKeys: 5,
  },
);

const predictions = mutated(
  {
    prediction_id: 'p',
    model_id: 'm',
    model_version: '1',
    timestamp: 1_795_600_000_000,
    features: { a: 1 },
    prediction: 1,
  },
  {
    prediction_id: hostileString,
    model_id: hostileString,
    model_version: fc.oneof(hostileString, hostileNumber),
    timestamp: hostileTime,
    features,
    prediction: fc.oneof(hostileNumber, hostileString, fc.boolean()),
    score: hostileNumber,
    probabilities: fc.dictionary(fc.string(), hostileNumber, { maxKeys: 3 }),
    latency_ms: hostileNumber,
    status: fc.constantFrom('ok', 'error', 'OK'),
    entity_id: hostileString,
    request_id: hostileString,
  },
);

const labels = mutated(
  { prediction_id: 'p', label: 1, timestamp: 1_795_600_000_000 },
  {
    prediction_id: hostileString,
    label: fc.oneof(hostileNumber, hostileString, fc.boolean()),
    timestamp: hostileTime,
    model_id: hostileString,
  },
);

const access = mutated(
  {
    event_id: 'e',
    timestamp: 1_795_600_000_000,
    principal: 'u',
    action: 'read',
    resource_type: 'prediction',
    resource_id: 'p',
    outcome: 'allowed',
  },
  {
    event_id: hostileString,
    timestamp: hostileTime,
    principal: hostileString,
    resource_id: hostileString,
    purpose: hostileString,
    source_ip: hostileString,
    outcome: fc.constantFrom('allowed', 'denied', 'maybe'),
  },
);

/** Drops `undefined` fields, as JSON has none. */
const asJson = (event: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined));

describe('the hot-path checker and the zod schema give one verdict', () => {
  const cases = [
    ['predictions', predictions, predictionEvent, checkPrediction],
    ['labels', labels, labelEvent, checkLabel],
    ['access events', access, accessLogEvent, checkAccessEvent],
  ] as const;

  it.each(cases)('on random %s (non-finite numbers, edge lengths and times)', (_, events, schema, check) => {
    fc.assert(
      fc.property(events, (raw) => {
        const event = asJson(raw);
        const zod = schema.safeParse(structuredClone(event));
        const fast = check(structuredClone(event));
        expect(
          fast.ok,
          `zod: ${zod.success ? 'valid' : JSON.stringify(zod.error.issues[0])}; ajv: ${fast.ok ? 'valid' : fast.detail}`,
        ).toBe(zod.success);
        if (zod.success && fast.ok) expect(fast.event.timestamp).toBe(zod.data.timestamp);
      }),
      { numRuns: 3_000 },
    );
  });

  it('rejects 1e999 in the JSON text (Infinity) in latency, score, a feature and a probability', () => {
    const base =
      '{"prediction_id":"p","model_id":"m","model_version":"1","timestamp":1795600000000,"prediction":1';
    for (const tail of [
      ',"features":{},"latency_ms":1e999}',
      ',"features":{},"score":-1e999}',
      ',"features":{"x":1e999}}',
      ',"features":{},"probabilities":{"a":1e999}}',
    ]) {
      const json: unknown = JSON.parse(base + tail);
      expect(predictionEvent.safeParse(json).success).toBe(false);
      const checked = checkPrediction(json);
      expect(checked.ok, tail).toBe(false);
    }
  });
});
