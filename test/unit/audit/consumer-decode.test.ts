import { describe, expect, it } from 'vitest';
import { chainName, decodeAuditMessage } from '../../../src/audit/index.js';

const source = (topic: string, value: string | null) => ({
  topic,
  partition: 2,
  offset: '7',
  message: { value: value === null ? null : Buffer.from(value) } as never,
});
const now = Date.UTC(2026, 11, 1);

const accessEvent = {
  event_id: 'a-1',
  timestamp: '2026-11-30T10:00:00Z',
  principal: 'ana',
  action: 'read',
  resource_type: 'prediction',
  resource_id: 'p-1',
  model_id: null,
  entity_id: 'c-9',
  purpose: null,
  outcome: 'allowed',
  source_ip: null,
};

const decodeAccess = (event: object) =>
  decodeAuditMessage(source('ml.access-log', JSON.stringify(event)), 'ml.access-log', { now });

describe('audit consumer decoding', () => {
  it('names a chain by topic and partition', () => {
    expect(chainName('ml.audit-events', 3)).toBe('ml.audit-events/3');
  });

  it('turns an access-log event (nulls for absent fields) into an access record', () => {
    expect(decodeAccess(accessEvent)).toEqual({
      record: {
        kind: 'access',
        at: '2026-11-30T10:00:00.000Z',
        principal: 'ana',
        action: 'read',
        resource_type: 'prediction',
        resource_id: 'p-1',
        entity_id: 'c-9',
        outcome: 'allowed',
        details: { event_id: 'a-1' },
      },
    });
  });

  it('reads an access event time as the collectors do (regression: such events were left out of the chain)', () => {
    const at = (timestamp: string | number) => {
      const decoded = decodeAccess({ ...accessEvent, timestamp });
      return 'record' in decoded ? decoded.record.at : decoded.refused;
    };
    expect(at('2026-11-30T10:00:00')).toBe('2026-11-30T10:00:00.000Z');
    expect(at('2026-11-30 10:00')).toBe('2026-11-30T10:00:00.000Z');
    expect(at('2026-11-30')).toBe('2026-11-30T00:00:00.000Z');
    expect(at('2026-11-30T11:00:00+0100')).toBe('2026-11-30T10:00:00.000Z');
    expect(at('1900-01-01T00:00:00Z')).toBe('1900-01-01T00:00:00.000Z');
    expect(at(Date.UTC(1955, 5, 1))).toBe('1955-06-01T00:00:00.000Z');
    expect(at(Date.UTC(2026, 5, 1) + 0.7)).toBe('2026-06-01T00:00:00.000Z');
    expect(at('2026-02-30')).toBe(
      'access event: timestamp is not an ISO-8601 time or epoch milliseconds in 1900-2299',
    );
    expect(at('1899-12-31T23:59:59Z')).toContain('timestamp is not');
  });

  it('takes fields up to the collectors’ limits', () => {
    const long = {
      ...accessEvent,
      principal: 'p'.repeat(512),
      action: 'a'.repeat(512),
      resource_type: 't'.repeat(512),
      model_id: 'm'.repeat(512),
      entity_id: 'e'.repeat(512),
      event_id: 'i'.repeat(512),
      purpose: 'u'.repeat(1024),
    };
    expect(decodeAccess(long)).toMatchObject({ record: { principal: long.principal, action: long.action } });
  });

  it('says why a message is skipped, without quoting it', () => {
    const change = {
      kind: 'change',
      at: '2026-11-30T10:00:00Z',
      principal: 'admin',
      action: 'key.create',
      resource_type: 'api_key',
      resource_id: 'k',
      outcome: 'allowed',
      details: {},
    };
    const audit = (value: string | null) =>
      decodeAuditMessage(source('ml.audit-events', value), 'ml.access-log', { now });
    expect(audit(JSON.stringify(change))).toMatchObject({ record: { action: 'key.create' } });
    expect(audit('{"secret": "s3cret" not json')).toEqual({ refused: 'not JSON' });
    expect(audit(null)).toEqual({ refused: 'empty message value' });
    expect(audit(JSON.stringify({ ...change, at: '2099-01-01T00:00:00Z' }))).toEqual({
      refused: 'audit record: at is more than 86400000 ms in the future',
    });
    expect(audit(JSON.stringify({ ...change, hash: 'x' }))).toMatchObject({
      refused: expect.stringContaining('audit record:') as string,
    });
    expect(decodeAccess({ ...change, kind: 'access' })).toMatchObject({
      refused: expect.stringContaining('timestamp') as string,
    });
    expect(decodeAccess({ ...accessEvent, principal: 'x'.repeat(513) })).toEqual({
      refused: 'audit record: principal must be at most 512 characters',
    });
    // As the collectors' store refuses it (dead-lettered): no UTF-8 form, and JCS cannot encode it.
    expect(decodeAccess({ ...accessEvent, principal: 'ana\ud800' })).toEqual({
      refused: 'audit record: principal holds a lone surrogate',
    });
  });

  it('takes the future limit it is given (the collectors’ skew)', () => {
    const inTwoDays = { ...accessEvent, timestamp: now + 2 * 86_400_000 };
    expect(decodeAccess(inTwoDays)).toHaveProperty('refused');
    const decoded = decodeAuditMessage(source('ml.access-log', JSON.stringify(inTwoDays)), 'ml.access-log', {
      now,
      maxFutureMs: 3 * 86_400_000,
    });
    expect(decoded).toHaveProperty('record');
  });
});
