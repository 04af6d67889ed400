import { describe, expect, it } from 'vitest';
import { labelRow, predictionRow, valueColumns } from '../../../src/collectors/rows.js';
import {
  checkAccessEvent,
  checkLabel,
  checkPrediction,
  type Checked,
} from '../../../src/collectors/validation.js';
import { inferTask } from '../../../src/models/index.js';
import { RowBinaryWriter } from '../../../src/platform/clickhouse/index.js';
import { predictionRowOf } from '../../support/prediction-row.js';

const spec = {
  prediction_id: 'p-000123',
  model_id: 'credit-risk',
  model_version: '3',
  timestamp: '2026-11-25T10:00:00.123Z',
  features: { age: 42, income: 52000.5, region: 'north', has_card: true, missing: null },
  prediction: 1,
  score: 0.83,
  probabilities: { approve: 0.83, reject: 0.17 },
  latency_ms: 12.5,
  status: 'ok',
  entity_id: 'customer-123',
  request_id: 'r-9',
};

function ok<T>(checked: Checked<T>): T {
  if (!checked.ok) throw new Error(`expected a valid event, got: ${checked.detail}`);
  return checked.event;
}

function detail<T>(checked: Checked<T>): string {
  if (checked.ok) throw new Error('expected an invalid event');
  return checked.detail;
}

/** A fresh copy: the checker normalizes the parsed object in place, as it does on the hot path. */
const event = (patch: Record<string, unknown> = {}) => structuredClone({ ...spec, ...patch });

describe('prediction events', () => {
  it('accepts the SPEC example and normalizes its time to epoch milliseconds', () => {
    expect(ok(checkPrediction(event())).timestamp).toBe(Date.UTC(2026, 10, 25, 10, 0, 0, 123));
    expect(ok(checkPrediction(event({ timestamp: 1795600000123 }))).timestamp).toBe(1795600000123);
  });

  it('accepts a numeric model_version and keeps it as text', () => {
    expect(ok(checkPrediction(event({ model_version: 3 }))).model_version).toBe('3');
  });

  // JSON.parse reads 9007199254740993 as 9007199254740992: two versions (a build stamp sent as a
  // number) were stored as one, under a number neither producer sent.
  it('refuses a numeric model_version beyond 2^53, which JSON.parse cannot read exactly', () => {
    const parsed = (version: string) =>
      JSON.parse(
        JSON.stringify(event({ model_version: 0 })).replace(
          '"model_version":0',
          `"model_version":${version}`,
        ),
      ) as unknown;
    expect(ok(checkPrediction(parsed('9007199254740991'))).model_version).toBe('9007199254740991');
    expect(ok(checkPrediction(parsed('-9007199254740991'))).model_version).toBe('-9007199254740991');
    for (const version of ['9007199254740993', '9007199254740992', '-9007199254740993', '1e21'])
      expect(detail(checkPrediction(parsed(version))), version).toMatch(/^model_version: /);
  });

  it('accepts fields it does not know yet (additive schema evolution)', () => {
    expect(ok(checkPrediction(event({ explanation: { top: 'age' } }))).prediction_id).toBe('p-000123');
  });

  it.each([
    ['prediction_id', { prediction_id: '' }],
    ['features', { features: [1, 2] }],
    ['features.nested', { features: { nested: { a: 1 } } }],
    ['timestamp', { timestamp: 'not a date' }],
    ['prediction', { prediction: null }],
    ['status', { status: 'maybe' }],
    ['latency_ms', { latency_ms: -1 }],
    ['score', { score: '0.5' }],
    ['timestamp', { timestamp: '1066-10-14' }],
  ])('rejects a bad %s, naming the field', (field, patch) => {
    expect(detail(checkPrediction(event(patch)))).toMatch(new RegExp(`^${field.replace('.', '\\.')}: `));
  });

  // Date.parse read these: the first in the host's zone, the others as dates they are not.
  it.each(['11/12/2026', '5', '2026-02-31T00:00:00Z', 'Tue, 25 Nov 2026 10:00:00 GMT'])(
    'refuses the event time %j, which is not ISO-8601 or names a day that does not exist',
    (timestamp) => {
      expect(detail(checkPrediction(event({ timestamp })))).toMatch(/^timestamp: not a valid event time/);
    },
  );

  it('reads an ISO-8601 offset of hours alone (+02, -05), as the same time with :00', () => {
    for (const [text, iso] of [
      ['2026-11-25T12:00:00+02', '2026-11-25T12:00:00+02:00'],
      ['2026-11-25T05:00:00.250-05', '2026-11-25T05:00:00.250-05:00'],
    ]) {
      expect(ok(checkPrediction(event({ timestamp: text }))).timestamp, text).toBe(Date.parse(iso!));
      expect(ok(checkLabel({ prediction_id: 'p', label: 1, timestamp: text })).timestamp, text).toBe(
        Date.parse(iso!),
      );
    }
  });

  it('reads an ISO time without an offset as UTC, whatever the host zone', () => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'Europe/Berlin'; // V8 reads TZ again when it changes
    try {
      expect(ok(checkPrediction(event({ timestamp: '2026-11-25T10:00:00' }))).timestamp).toBe(
        Date.UTC(2026, 10, 25, 10),
      );
      expect(
        ok(checkLabel({ prediction_id: 'p', label: 1, timestamp: '2026-11-25 10:00:00.5+01:00' })).timestamp,
      ).toBe(Date.UTC(2026, 10, 25, 9, 0, 0, 500));
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });

  it('reads a fractional epoch as the millisecond it falls in, as the same instant in ISO text', () => {
    for (const [epoch, text, ms] of [
      [-0.5, '1969-12-31T23:59:59.9995Z', -1],
      [1.75, '1970-01-01T00:00:00.00175Z', 1],
    ] as const) {
      expect(ok(checkPrediction(event({ timestamp: epoch }))).timestamp, String(epoch)).toBe(ms);
      expect(ok(checkPrediction(event({ timestamp: text }))).timestamp, text).toBe(ms);
    }
  });

  it('rejects a missing required field', () => {
    const { model_id: _dropped, ...rest } = spec;
    expect(detail(checkPrediction(rest))).toBe('model_id: is required');
  });
});

describe('labels and access events', () => {
  it('stores label text and number', () => {
    const row = JSON.parse(
      labelRow(ok(checkLabel({ prediction_id: 'p', label: true, timestamp: 0 }))),
    ) as Record<string, unknown>;
    expect(row).toMatchObject({ label: 'true', label_num: 1, model_id: '' });
    expect(valueColumns('approve')).toEqual({ text: 'approve', num: null });
    expect(valueColumns('2.5')).toEqual({ text: '2.5', num: 2.5 });
    expect(valueColumns('')).toEqual({ text: '', num: null });
  });

  it('reads a number from a text value only when it is decimal: 0x10, 0b11 and 0o7 stay classes', () => {
    for (const text of [
      '0x10',
      '0X1f',
      '0b11',
      '0o7',
      'Infinity',
      '-Infinity',
      '1_000',
      '1e',
      '.',
      '+',
      '- 1',
    ])
      expect(valueColumns(text), text).toEqual({ text, num: null });
    const decimals: [string, number][] = [
      ['16', 16],
      ['-2.5', -2.5],
      ['+3', 3],
      ['.5', 0.5],
      ['5.', 5],
      ['007', 7],
      ['1e3', 1000],
      ['2.5E-1', 0.25],
      [' 42 ', 42],
    ];
    for (const [text, num] of decimals) expect(valueColumns(text), text).toEqual({ text, num });
    const label = JSON.parse(
      labelRow(ok(checkLabel({ prediction_id: 'p', label: '0x10', timestamp: 0 }))),
    ) as {
      label_num: unknown;
    };
    expect(label.label_num).toBeNull();
    const prediction = ok(checkPrediction({ ...spec, prediction: '0b11' }));
    expect(predictionRowOf(predictionRow(new RowBinaryWriter(16), prediction)).prediction_num).toBeNull();
  });

  it('requires the access outcome to be allowed or denied', () => {
    const base = {
      event_id: 'e',
      timestamp: 0,
      principal: 'u',
      action: 'read',
      resource_type: 'prediction',
      resource_id: 'p',
    };
    expect(ok(checkAccessEvent({ ...base, outcome: 'allowed' })).outcome).toBe('allowed');
    expect(detail(checkAccessEvent({ ...base, outcome: 'maybe' }))).toMatch(/^outcome: /);
  });
});

describe('task inference (SPEC 4)', () => {
  it('infers binary, multiclass and regression', () => {
    expect(inferTask(1, 0.8)).toBe('binary_classification');
    expect(inferTask(true, undefined)).toBe('binary_classification');
    expect(inferTask('approve', 0.9)).toBe('multiclass_classification');
    expect(inferTask(12.5, null)).toBe('regression');
  });
});

describe('prediction rows (RowBinary into predictions)', () => {
  const writer = new RowBinaryWriter(16);
  const rowOf = (raw: string | Buffer) =>
    predictionRowOf(predictionRow(writer, ok(checkPrediction(JSON.parse(raw.toString())))));

  it('hold every column, the features split by type and nulls left out', () => {
    expect(rowOf(JSON.stringify({ ...spec, tags: { channel: 'web' } }))).toEqual({
      model_id: 'credit-risk',
      model_version: '3',
      prediction_id: 'p-000123',
      timestamp: BigInt(Date.UTC(2026, 10, 25, 10, 0, 0, 123)),
      features_num: [
        ['age', 42],
        ['income', 52000.5],
      ],
      features_str: [
        ['region', 'north'],
        ['has_card', 'true'],
      ],
      prediction: '1',
      prediction_num: 1,
      score: 0.83,
      probabilities: [
        ['approve', 0.83],
        ['reject', 0.17],
      ],
      latency_ms: 12.5,
      is_error: 0,
      entity_id: 'customer-123',
      request_id: 'r-9',
      tags: [['channel', 'web']],
    });
  });

  it('write absent optional fields as nulls and empty maps', () => {
    const minimal = {
      prediction_id: 'p',
      model_id: 'm',
      model_version: 7,
      timestamp: '1900-01-01T00:00:00.001Z',
      features: {},
      prediction: 'approve',
      status: 'error',
    };
    expect(rowOf(JSON.stringify(minimal))).toMatchObject({
      model_version: '7',
      timestamp: BigInt(Date.UTC(1900, 0, 1) + 1),
      features_num: [],
      features_str: [],
      prediction: 'approve',
      prediction_num: null,
      score: null,
      probabilities: [],
      latency_ms: null,
      is_error: 1,
      entity_id: '',
      request_id: '',
      tags: [],
    });
  });

  it('keep texts of any length and script, and numbers to the last bit', () => {
    const long = 'é'.repeat(70) + 'x'.repeat(100); // 240 bytes: a two-byte length
    const features = {
      'Zürich 🏔': 'naïve',
      [long]: long,
      tiny: 5e-324,
      big: 1.7976931348623157e308,
      neg: -0.1,
    };
    const row = rowOf(JSON.stringify({ ...spec, features, entity_id: long }));
    expect(row.features_num).toEqual([
      ['tiny', 5e-324],
      ['big', 1.7976931348623157e308],
      ['neg', -0.1],
    ]);
    expect(row.features_str).toEqual([
      ['Zürich 🏔', 'naïve'],
      [long, long],
    ]);
    expect(row.entity_id).toBe(long);
  });

  it('store invalid UTF-8 and lone surrogates as U+FFFD, as decoding the message makes them', () => {
    const value = Buffer.from(JSON.stringify({ ...spec, features: { city: 'XX', odd: '\ud800' } }), 'utf8');
    value[value.indexOf('XX')] = 0xff; // not UTF-8
    expect(rowOf(value).features_str).toEqual([
      ['city', '\uFFFDX'],
      ['odd', '\uFFFD'],
    ]);
  });

  it('start afresh after a row that failed half-way', () => {
    const bad = ok(checkPrediction(JSON.parse(JSON.stringify(spec))));
    Object.defineProperty(bad, 'request_id', {
      get() {
        throw new Error('boom');
      },
    });
    expect(() => predictionRow(writer, bad)).toThrow('boom');
    expect(rowOf(JSON.stringify(spec)).prediction_id).toBe('p-000123');
  });
});
