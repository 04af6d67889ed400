import { describe, expect, it } from 'vitest';
import {
  AuditError,
  accessRecord,
  apiCallRecord,
  changeRecord,
  parseAuditRecord,
} from '../../../src/audit/index.js';

const NOW = Date.UTC(2026, 5, 1);

const valid = {
  kind: 'change',
  at: '2026-05-31T10:00:00Z',
  principal: 'admin',
  action: 'reference.set',
  resource_type: 'model_version',
  resource_id: 'credit-risk/3',
  model_id: 'credit-risk',
  outcome: 'allowed',
  details: { rows: 1000 },
};

function fieldOf(input: unknown): string | undefined {
  try {
    parseAuditRecord(input, { now: NOW });
  } catch (err) {
    expect(err).toBeInstanceOf(AuditError);
    const e = err as AuditError;
    expect(e.code).toBe('INVALID_RECORD');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(e.field);
    return e.field;
  }
  return undefined;
}

function deep(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return value;
}

describe('audit record schema', () => {
  it('normalizes times to UTC ISO with milliseconds, from epoch ms or an offset', () => {
    expect(parseAuditRecord({ ...valid, at: Date.UTC(2026, 4, 31, 10) }, { now: NOW }).at).toBe(
      '2026-05-31T10:00:00.000Z',
    );
    expect(parseAuditRecord({ ...valid, at: '2026-05-31T12:00:00+02:00' }, { now: NOW }).at).toBe(
      '2026-05-31T10:00:00.000Z',
    );
  });

  it('accepts each kind built by its builder', () => {
    const access = accessRecord({
      event_id: 'e1',
      timestamp: '2026-05-31T10:00:00Z',
      principal: 'svc',
      action: 'read',
      resource_type: 'prediction',
      resource_id: 'p-1',
      entity_id: 'customer-1',
      outcome: 'denied',
      source_ip: '10.0.0.1',
      model_id: '',
    });
    const parsed = parseAuditRecord(access, { now: NOW });
    expect(parsed).toMatchObject({
      kind: 'access',
      outcome: 'denied',
      details: { event_id: 'e1', source_ip: '10.0.0.1' },
    });
    expect('model_id' in parsed).toBe(false);
    const api = parseAuditRecord(
      apiCallRecord({
        at: NOW,
        principal: 'anonymous',
        method: 'GET',
        route: '/api/v1/keys',
        status: 401,
        params: { api_key: 'mw_secret', x: 1 },
      }),
      { now: NOW },
    );
    expect(api).toMatchObject({
      kind: 'api',
      action: 'GET /api/v1/keys',
      outcome: 'denied',
      details: { params: { api_key: '[redacted]', x: 1 } },
    });
    expect(JSON.stringify(api)).not.toContain('mw_secret');
    const change = parseAuditRecord(
      changeRecord({
        at: NOW,
        principal: 'admin',
        action: 'key.revoke',
        resource_type: 'api_key',
        resource_id: 'k1',
      }),
      { now: NOW },
    );
    expect(change).toMatchObject({ kind: 'change', outcome: 'allowed', details: {} });
  });

  it('maps API statuses to outcomes', () => {
    const outcome = (status: number) =>
      apiCallRecord({ at: NOW, principal: 'p', method: 'GET', route: '/r', status }).outcome;
    expect([200, 204, 401, 403, 429, 400, 404, 500].map(outcome)).toEqual([
      'allowed',
      'allowed',
      'denied',
      'denied',
      'denied',
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('names the field of hostile input', () => {
    expect(fieldOf({ ...valid, details: { x: Number.NaN } })).toBe('details.x');
    expect(fieldOf({ ...valid, details: { list: [1, Number.POSITIVE_INFINITY] } })).toBe('details.list.1');
    expect(fieldOf({ ...valid, details: deep(50) })).toMatch(/^details(\.a)+$/);
    expect(fieldOf({ ...valid, details: { s: 'x'.repeat(10_000_000) } })).toBe('details.s');
    expect(
      fieldOf({
        ...valid,
        details: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, i])),
      }),
    ).toBe('details');
    expect(fieldOf({ ...valid, principal: 'p'.repeat(10_000_000) })).toBe('principal');
    expect(fieldOf({ ...valid, principal: 'bad\ud800' })).toBe('principal');
    expect(fieldOf({ ...valid, details: { s: '\udc00' } })).toBe('details.s');
    expect(fieldOf({ ...valid, at: '9999-12-31T00:00:00Z' })).toBe('at');
    expect(fieldOf({ ...valid, at: NOW + 2 * 86_400_000 })).toBe('at');
    expect(fieldOf({ ...valid, at: '31/05/2026' })).toBe('at');
    expect(fieldOf({ ...valid, at: 1.5 })).toBe('at');
    // What the `at` column (DateTime64(3)) holds, as the collectors' event times: 1900-2299.
    expect(fieldOf({ ...valid, at: Date.UTC(1900, 0, 1) - 1 })).toBe('at');
    expect(fieldOf({ ...valid, at: '2300-01-01T00:00:00Z' })).toBe('at');
    expect(fieldOf({ ...valid, action: "'; DROP TABLE audit_events; --" })).toBe('action');
    expect(fieldOf({ ...valid, kind: 'other' })).toBe('kind');
    // An unknown key or a record that is no object: the record itself is named.
    expect(fieldOf({ ...valid, extra: 1 })).toBe('record');
    expect(
      fieldOf({
        ...valid,
        kind: 'api',
        action: 'GET /r',
        details: { method: 'GET', route: '/r', status: 600 },
      }),
    ).toBe('details.status');
    expect(fieldOf({ ...valid, kind: 'access', action: 'read', details: {} })).toBe('details.event_id');
    expect(fieldOf({ ...valid, principal: '' })).toBe('principal');
    expect(fieldOf('not an object')).toBe('record');
  });

  it('refuses a __proto__ key in details, naming it (regression: it vanished from the hashed record)', () => {
    const parsed = (json: string): unknown => JSON.parse(json);
    expect(fieldOf({ ...valid, details: parsed('{"__proto__":{"x":1},"y":2}') })).toBe('details.__proto__');
    expect(fieldOf({ ...valid, details: parsed('{"a":[{"__proto__":1}]}') })).toBe('details.a.0.__proto__');
    const api = { ...valid, kind: 'api', action: 'GET /r' };
    expect(
      fieldOf({
        ...api,
        details: { method: 'GET', route: '/r', status: 200, params: parsed('{"__proto__":"x"}') },
      }),
    ).toBe('details.params.__proto__');
    expect(parseAuditRecord({ ...valid, details: { proto: '__proto__' } }, { now: NOW }).details).toEqual({
      proto: '__proto__',
    });
  });

  it('takes times back to 1900 and the id limits of the access events the collectors accept', () => {
    expect(parseAuditRecord({ ...valid, at: -1 }, { now: NOW }).at).toBe('1969-12-31T23:59:59.999Z');
    expect(parseAuditRecord({ ...valid, at: '1900-01-01T00:00:00Z' }, { now: NOW }).at).toBe(
      '1900-01-01T00:00:00.000Z',
    );
    expect(parseAuditRecord({ ...valid, principal: 'p'.repeat(512) }, { now: NOW }).principal).toHaveLength(
      512,
    );
    expect(fieldOf({ ...valid, principal: 'p'.repeat(513) })).toBe('principal');
    expect(fieldOf({ ...valid, at: NOW + 2 * 86_400_000 })).toBe('at');
    expect(
      parseAuditRecord({ ...valid, at: NOW + 2 * 86_400_000 }, { now: NOW, maxFutureMs: 3 * 86_400_000 }).at,
    ).toBe(new Date(NOW + 2 * 86_400_000).toISOString());
  });

  it('keeps SQL-looking text as data where free text is allowed', () => {
    const parsed = parseAuditRecord({ ...valid, resource_id: "x' OR 1=1 --" }, { now: NOW });
    expect(parsed.resource_id).toBe("x' OR 1=1 --");
  });
});
