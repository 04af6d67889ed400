import { describe, expect, it } from 'vitest';
import { accessLogEvent, labelEvent, predictionEvent } from '../../../src/collectors/index.js';
import { labelRow, predictionRow, valueColumns } from '../../../src/collectors/rows.js';
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

describe('prediction events', () => {
  it('accepts the SPEC example and normalizes its time to epoch milliseconds', () => {
    const event = predictionEvent.parse(spec);
    expect(event.timestamp).toBe(Date.UTC(2026, 10, 25, 10, 0, 0, 123));
    expect(predictionEvent.parse({ ...spec, timestamp: 1795600000123 }).timestamp).toBe(1795600000123);
  });

  it('accepts a numeric model_version and keeps it as text', () => {
    expect(predictionEvent.parse({ ...spec, model_version: 3 }).model_version).toBe('3');
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
  ])('rejects a bad %s, naming the field', (field, patch) => {
    const result = predictionEvent.safeParse({ ...spec, ...patch });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  it('rejects a missing required field', () => {
    const { model_id: _dropped, ...rest } = spec;
    expect(predictionEvent.safeParse(rest).error?.issues[0]?.path).toEqual(['model_id']);
  });

  it('splits features by type into the map columns and drops nulls', () => {
    const row = JSON.parse(predictionRow(predictionEvent.parse(spec))) as Record<string, unknown>;
    expect(row['features_num']).toEqual({ age: 42, income: 52000.5 });
    expect(row['features_str']).toEqual({ region: 'north', has_card: 'true' });
    expect(row).toMatchObject({ prediction: '1', prediction_num: 1, score: 0.83, is_error: false, entity_id: 'customer-123' });
  });
});

describe('labels and access events', () => {
  it('stores label text and number', () => {
    const row = JSON.parse(labelRow(labelEvent.parse({ prediction_id: 'p', label: true, timestamp: 0 }))) as Record<string, unknown>;
    expect(row).toMatchObject({ label: 'true', label_num: 1, model_id: '' });
    expect(valueColumns('approve')).toEqual({ text: 'approve', num: null });
    expect(valueColumns('2.5')).toEqual({ text: '2.5', num: 2.5 });
    expect(valueColumns('')).toEqual({ text: '', num: null });
  });

  it('requires the access outcome to be allowed or denied', () => {
    const base = { event_id: 'e', timestamp: 0, principal: 'u', action: 'read', resource_type: 'prediction', resource_id: 'p' };
    expect(accessLogEvent.safeParse({ ...base, outcome: 'allowed' }).success).toBe(true);
    expect(accessLogEvent.safeParse({ ...base, outcome: 'maybe' }).error?.issues[0]?.path).toEqual(['outcome']);
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
