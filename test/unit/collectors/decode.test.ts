import fc from 'fast-check';
import type { KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCollectorSink, createIngestMetrics, type Decoded } from '../../../src/collectors/index.js';
import {
  accessLogEvent,
  labelEvent,
  MIN_EVENT_TIME,
  predictionEvent,
} from '../../../src/collectors/events.js';
import { predictionRowOf } from '../../support/prediction-row.js';

const topics = { predictions: 'p', labels: 'l', accessLog: 'a', deadLetter: 'dlq' };
const NOW = Date.UTC(2026, 10, 25, 12);
const DAY = 86_400_000;
const limits = {
  maxMessageBytes: 1_048_576,
  maxFutureSkewMs: DAY,
  maxFeatures: 1_000,
  maxFeatureNameLength: 256,
};

/** `decode` reads only its options: the write-side dependencies are never touched here. */
function decoder(overrides: Partial<typeof limits> = {}): (topic: string, text: string | Buffer) => Decoded {
  const sink = createCollectorSink({
    db: undefined as never,
    letters: undefined as never,
    models: undefined as never,
    metrics: createIngestMetrics(new Registry()),
    topics,
    ...limits,
    ...overrides,
    now: () => NOW,
  });
  return (topic, text) => {
    const message = {
      key: null,
      value: Buffer.isBuffer(text) ? text : Buffer.from(text),
      offset: '7',
      headers: {},
    } as unknown as KafkaMessage;
    return sink.decode({ topic, partition: 0, offset: '7', message });
  };
}

const prediction = (patch: Record<string, unknown> = {}) => ({
  prediction_id: 'p-1',
  model_id: 'm',
  model_version: '1',
  timestamp: NOW,
  features: { a: 1, b: 'x' },
  prediction: 1,
  ...patch,
});

function letter(decoded: Decoded): { reason: string; detail: string } {
  if (decoded.ok) throw new Error('expected a dead letter');
  return decoded.letter;
}

describe('decode: limits and future event times', () => {
  const decode = decoder();

  it('dead-letters an event time more than the skew after the ingest time, on every topic', () => {
    const future = NOW + DAY + 1;
    for (const [topic, event] of [
      ['p', prediction({ timestamp: future })],
      ['l', { prediction_id: 'p-1', label: 1, timestamp: future }],
      [
        'a',
        {
          event_id: 'e',
          timestamp: future,
          principal: 'u',
          action: 'r',
          resource_type: 't',
          resource_id: 'x',
          outcome: 'allowed',
        },
      ],
    ] as const) {
      const dead = letter(decode(topic, JSON.stringify(event)));
      expect(dead.reason).toBe('future_timestamp');
      expect(dead.detail).toMatch(
        /^timestamp: 2026-11-26T12:00:00\.001Z is more than 86400000 ms after the ingest time 2026-11-25T12:00:00\.000Z/,
      );
    }
    expect(decode('p', JSON.stringify(prediction({ timestamp: NOW + DAY }))).ok).toBe(true);
    expect(
      letter(decode('p', JSON.stringify(prediction({ timestamp: '2299-12-31T00:00:00Z' })))).reason,
    ).toBe('future_timestamp');
    expect(decoder({ maxFutureSkewMs: 0 })('p', JSON.stringify(prediction({ timestamp: NOW + 1 }))).ok).toBe(
      false,
    );
  });

  it('dead-letters too many features and too long a name as schema errors naming the field', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    expect(decode('p', JSON.stringify(prediction({ features: many(1_000) }))).ok).toBe(true);
    const tooMany = letter(decode('p', JSON.stringify(prediction({ features: many(1_001) }))));
    expect(tooMany).toMatchObject({ reason: 'schema' });
    expect(tooMany.detail).toMatch(/^features: more than 1000 features \(1001\)/);
    expect(
      letter(decoder({ maxFeatures: 3 })('p', JSON.stringify(prediction({ features: many(4) })))).detail,
    ).toMatch(/^features: more than 3/);

    expect(decode('p', JSON.stringify(prediction({ features: { ['n'.repeat(256)]: 1 } }))).ok).toBe(true);
    const long = letter(
      decode('p', JSON.stringify(prediction({ features: { ok: 1, ['n'.repeat(257)]: 1 } }))),
    );
    expect(long.reason).toBe('schema');
    expect(long.detail).toMatch(/^features\.n{64}…: the name is 257 characters; the limit is 256$/);
  });

  it('dead-letters Infinity (1e999 in the text) in latency, score and a feature as schema errors', () => {
    const base = JSON.stringify(prediction()).slice(0, -1);
    expect(letter(decode('p', `${base},"latency_ms":1e999}`)).detail).toMatch(/^latency_ms: /);
    expect(letter(decode('p', `${base},"score":-1e999}`)).detail).toMatch(/^score: /);
    expect(letter(decode('p', base.replace('"a":1', '"a":1e999') + '}')).detail).toMatch(/^features\.a: /);
  });

  it('dead-letters a lone surrogate in an identifying text, which has no UTF-8 form; keeps a pair', () => {
    for (const field of [
      'prediction_id',
      'model_id',
      'model_version',
      'entity_id',
      'request_id',
      'prediction',
    ]) {
      for (const lone of ['\ud800', 'a\udfff']) {
        const dead = letter(decode('p', JSON.stringify(prediction({ [field]: lone }))));
        expect(dead).toMatchObject({
          reason: 'schema',
          detail: `${field}: holds a lone UTF-16 surrogate, which has no UTF-8 form`,
        });
      }
      expect(decode('p', JSON.stringify(prediction({ [field]: 'ok 🏔' }))).ok, field).toBe(true);
    }
  });

  it('dead-letters a lone surrogate in any text of a label or an access event (ClickHouse refuses its JSON line whole)', () => {
    const label = { prediction_id: 'p-1', label: 'yes', timestamp: NOW, model_id: 'm' };
    const access = {
      event_id: 'e',
      timestamp: NOW,
      principal: 'u',
      action: 'r',
      resource_type: 't',
      resource_id: 'x',
      model_id: 'm',
      entity_id: 'c',
      purpose: 'p',
      outcome: 'allowed',
      source_ip: '10.0.0.1',
    };
    for (const [topic, event, fields] of [
      ['l', label, ['prediction_id', 'model_id', 'label']],
      [
        'a',
        access,
        [
          'event_id',
          'principal',
          'action',
          'resource_type',
          'resource_id',
          'model_id',
          'entity_id',
          'purpose',
          'source_ip',
        ],
      ],
    ] as const) {
      expect(decode(topic, JSON.stringify(event)).ok, topic).toBe(true);
      for (const field of fields) {
        for (const lone of ['\ud800', 'a\udfff']) {
          const dead = letter(decode(topic, JSON.stringify({ ...event, [field]: lone })));
          expect(dead).toMatchObject({
            reason: 'schema',
            detail: `${field}: holds a lone UTF-16 surrogate, which has no UTF-8 form`,
          });
        }
        expect(decode(topic, JSON.stringify({ ...event, [field]: 'ok 🏔' })).ok, field).toBe(true);
      }
    }
  });

  it('dead-letters a message that is not UTF-8 as invalid_json, on every topic: two ids would become one', () => {
    // Latin-1 "ü"/"ä" (0xfc/0xe4), a lone continuation byte, a truncated sequence, an overlong "/".
    const invalid = [[0xfc], [0xe4], [0x80], [0xe2, 0x82], [0xc0, 0xaf]];
    for (const topic of ['p', 'l', 'a']) {
      for (const bytes of invalid) {
        const [before, after] = JSON.stringify(prediction({ prediction_id: 'p-@' })).split('@');
        const text = Buffer.concat([Buffer.from(before!), Buffer.from(bytes), Buffer.from(after!)]);
        expect(letter(decode(topic, text))).toMatchObject({ reason: 'invalid_json', detail: 'not UTF-8' });
      }
    }
    expect(decode('p', Buffer.from(JSON.stringify(prediction({ prediction_id: 'p-müller 🏔' })))).ok).toBe(
      true,
    );
  });
});

/** Random JSON events: shaped like predictions, labels and access events, but with hostile values. */
const hostile = fc
  .oneof(
    fc.double(),
    fc.constantFrom('1e999', '-1e999', '-0', '1e-400', '123456789012345678901234567890', 'NaN', 'Infinity'),
    fc.integer({ min: MIN_EVENT_TIME - DAY, max: NOW + 2 * DAY }),
    fc.constantFrom(
      -8.64e15,
      8.64e15,
      0,
      '"2299-12-31T23:59:59.999Z"',
      '"1899-12-31T23:59:59.999Z"',
      '"+275760-09-13T00:00:00Z"',
    ),
    fc.string({ unit: 'binary' }).map((s) => JSON.stringify(s)),
    fc.integer({ min: 0, max: 200_000 }).map((n) => JSON.stringify('x'.repeat(n))),
    fc.integer({ min: 1, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
    fc.integer({ min: 1, max: 2_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
    fc.json(),
    fc.constantFrom('null', 'true', '"\\ud800"', '{}', '[]'),
  )
  .map(String);

/** An event's JSON text with some fields replaced by hostile JSON literals (raw text, so 1e999 stays 1e999). */
function eventText(base: Record<string, unknown>) {
  const names = [...Object.keys(base), 'features', 'score', 'latency_ms', 'model_id', 'unknown_field'];
  return fc.dictionary(fc.constantFrom(...names), hostile, { maxKeys: 4 }).map((patch) => {
    const fields = Object.entries(base)
      .filter(([k]) => !(k in patch))
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    return `{${[...fields, ...Object.entries(patch).map(([k, v]) => `${JSON.stringify(k)}:${v}`)].join(',')}}`;
  });
}

const texts = fc.oneof(
  fc.tuple(fc.constant('p'), eventText(prediction())),
  // Valid events around the future limit (the ingest time + 1 day), on every topic.
  fc
    .tuple(fc.constantFrom('p', 'l'), fc.integer({ min: NOW + DAY - 1_000, max: NOW + DAY + 1_000 }))
    .map(
      ([topic, t]) =>
        [
          topic,
          JSON.stringify(
            topic === 'p' ? prediction({ timestamp: t }) : { prediction_id: 'p-1', label: 1, timestamp: t },
          ),
        ] as const,
    ),
  fc.tuple(
    fc.constant('p'),
    eventText({ ...prediction(), features: { a: 1 } }).map((t) => t.replace('"a":1', '"a":1e999')),
  ),
  fc.tuple(fc.constant('l'), eventText({ prediction_id: 'p-1', label: 1, timestamp: NOW, model_id: 'm' })),
  fc.tuple(
    fc.constant('a'),
    eventText({
      event_id: 'e',
      timestamp: NOW,
      principal: 'u',
      action: 'r',
      resource_type: 't',
      resource_id: 'x',
      outcome: 'allowed',
    }),
  ),
  fc.tuple(fc.constantFrom('p', 'l', 'a', 'elsewhere'), fc.oneof(fc.string(), fc.json(), hostile)),
);

const schemas = { p: predictionEvent, l: labelEvent, a: accessLogEvent } as const;

/** Every number a stored row holds, read back from its insert format. */
function numbersOf(topic: string, row: Buffer): number[] {
  if (topic === 'p') {
    const r = predictionRowOf(row);
    return [
      ...r.features_num.map(([, v]) => v),
      ...r.probabilities.map(([, v]) => v),
      ...[r.prediction_num, r.score, r.latency_ms].filter((v) => v !== null),
    ];
  }
  const line = row.toString('utf8');
  expect(line).not.toMatch(/[\n\r]/);
  return Object.values(JSON.parse(line) as Record<string, unknown>).filter((v) => typeof v === 'number');
}
const REASONS = ['invalid_json', 'schema', 'oversize', 'future_timestamp', 'unknown_topic'];

describe('decode: random hostile events', () => {
  it('gives every event a valid row or a dead letter with a reason, and never throws', () => {
    const decode = decoder({ maxMessageBytes: 100_000 });
    const seen = { stored: 0, dead: new Map<string, number>() };
    fc.assert(
      fc.property(texts, ([topic, text]) => {
        const decoded = decode(topic, text);
        if (!decoded.ok) {
          seen.dead.set(decoded.letter.reason, (seen.dead.get(decoded.letter.reason) ?? 0) + 1);
          expect(REASONS).toContain(decoded.letter.reason);
          expect(decoded.letter.detail.length).toBeGreaterThan(0);
          expect(decoded.letter.source.message.value?.toString()).toBe(text);
          return;
        }
        // A stored row: the event satisfies the zod schema, its time is in range, its row reads
        // back whole (RowBinary for predictions, one JSON line otherwise) with finite numbers only.
        seen.stored += 1;
        const schema = schemas[topic as keyof typeof schemas];
        const parsed = schema.safeParse(JSON.parse(text));
        expect(parsed.success).toBe(true);
        if (parsed.success) expect(parsed.data.timestamp).toBeLessThanOrEqual(NOW + DAY);
        for (const value of numbersOf(topic, decoded.row)) expect(Number.isFinite(value)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
    // Not vacuous: the generator reaches both outcomes and the main reasons.
    expect(seen.stored).toBeGreaterThan(100);
    for (const reason of ['invalid_json', 'schema', 'oversize', 'future_timestamp', 'unknown_topic'])
      expect(seen.dead.get(reason) ?? 0, reason).toBeGreaterThan(0);
  });
});
