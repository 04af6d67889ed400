import { describe, expect, it } from 'vitest';
import { chainName, decodeAuditMessage } from '../../../src/audit/index.js';

const source = (topic: string, value: string | null) => ({
  topic,
  partition: 2,
  offset: '7',
  message: { value: value === null ? null : Buffer.from(value) } as never,
});
const now = Date.UTC(2026, 11, 1);

describe('audit consumer decoding', () => {
  it('names a chain by topic and partition', () => {
    expect(chainName('ml.audit-events', 3)).toBe('ml.audit-events/3');
  });

  it('turns an access-log event (nulls for absent fields) into an access record', () => {
    const event = {
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
    expect(decodeAuditMessage(source('ml.access-log', JSON.stringify(event)), 'ml.access-log', now)).toEqual({
      kind: 'access',
      at: '2026-11-30T10:00:00.000Z',
      principal: 'ana',
      action: 'read',
      resource_type: 'prediction',
      resource_id: 'p-1',
      entity_id: 'c-9',
      outcome: 'allowed',
      details: { event_id: 'a-1' },
    });
  });

  it('skips what is not a record: bad JSON, an empty message, a far-future time, a forged key field', () => {
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
    expect(
      decodeAuditMessage(source('ml.audit-events', JSON.stringify(change)), 'ml.access-log', now),
    ).toMatchObject({ action: 'key.create' });
    expect(decodeAuditMessage(source('ml.audit-events', '{not json'), 'ml.access-log', now)).toBeUndefined();
    expect(decodeAuditMessage(source('ml.audit-events', null), 'ml.access-log', now)).toBeUndefined();
    expect(
      decodeAuditMessage(
        source('ml.audit-events', JSON.stringify({ ...change, at: '2099-01-01T00:00:00Z' })),
        'ml.access-log',
        now,
      ),
    ).toBeUndefined();
    expect(
      decodeAuditMessage(
        source('ml.audit-events', JSON.stringify({ ...change, hash: 'x' })),
        'ml.access-log',
        now,
      ),
    ).toBeUndefined();
    expect(
      decodeAuditMessage(
        source('ml.access-log', JSON.stringify({ ...change, kind: 'access' })),
        'ml.access-log',
        now,
      ),
    ).toBeUndefined();
  });
});
