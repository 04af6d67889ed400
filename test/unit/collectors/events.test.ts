import { describe, expect, it } from 'vitest';
import {
  labelRow,
  predictionInputBytes,
  predictionInputLine,
  valueColumns,
} from '../../../src/collectors/rows.js';
import {
  checkAccessEvent,
  checkLabel,
  checkPrediction,
  type Checked,
} from '../../../src/collectors/validation.js';
import { inferTask } from '../../../src/models/index.js';

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

  it('rejects a missing required field', () => {
    const { model_id: _dropped, ...rest } = spec;
    expect(detail(checkPrediction(rest))).toBe('model_id: is required');
  });

  it('wraps the original JSON for ClickHouse, and re-serializes only when it has line breaks', () => {
    const raw = JSON.stringify(spec);
    const line = predictionInputLine(ok(checkPrediction(JSON.parse(raw))), raw);
    expect(line.endsWith(`,"e":${raw}}`)).toBe(true);
    expect(JSON.parse(line)).toEqual({
      ts: Date.UTC(2026, 10, 25, 10, 0, 0, 123),
      id: 'p-000123',
      m: 'credit-risk',
      mv: '3',
      p: '1',
      pn: 1,
      s: 0.83,
      l: 12.5,
      err: false,
      ent: 'customer-123',
      req: 'r-9',
      hp: true,
      e: spec,
    });
    const pretty = JSON.stringify(spec, null, 2);
    const wrapped = predictionInputLine(ok(checkPrediction(JSON.parse(pretty))), pretty);
    expect(wrapped).not.toContain('\n');
    expect((JSON.parse(wrapped) as { e: { features: unknown } }).e.features).toEqual(spec.features);
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

describe('prediction lines as bytes', () => {
  const line = (raw: string, value = Buffer.from(raw, 'utf8')) => {
    const event = ok(checkPrediction(JSON.parse(value.toString('utf8'))));
    return { bytes: predictionInputBytes(event, raw, value), text: predictionInputLine(event, raw) };
  };

  it('are the string line encoded, copied from the message when it is clean UTF-8', () => {
    const raw = JSON.stringify({ ...spec, features: { ...spec.features, city: 'Zürich 🏔' } });
    const { bytes, text } = line(raw);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(bytes.toString('utf8').endsWith(`,"e":${raw}}`)).toBe(true);
  });

  it('re-serialize an event with line breaks, as the string line does', () => {
    const pretty = JSON.stringify(spec, null, 2);
    const { bytes, text } = line(pretty);
    expect(bytes.includes('\n')).toBe(false);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
  });

  it('store invalid UTF-8 as its decoded text (U+FFFD), not as raw bytes', () => {
    const raw = JSON.stringify({ ...spec, features: { ...spec.features, city: 'XX' } });
    const value = Buffer.from(raw, 'utf8');
    const at = value.indexOf('XX');
    value[at] = 0xff; // not UTF-8
    const decoded = value.toString('utf8');
    const { bytes, text } = line(decoded, value);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(bytes.includes(Buffer.from([0xff]))).toBe(false);
    expect(bytes.toString('utf8')).toContain('\uFFFDX');
  });
});
